#include "model_options.h"

#include "wb/json/reader.h"

namespace wb::serve {

using nlohmann::json;

ModelOptions ModelOptions::from_json(const json& j) {
  JsonReader in(j);
  ModelOptions o;
  o.path = in.string("path");
  o.name = in.string_or("name", o.path.filename().string(), /*allow_empty=*/true);
  if (o.name.empty()) o.name = o.path.parent_path().filename().string();
  o.max_batch = in.integer_or("max_batch", o.max_batch, 1, 4096);
  o.max_context = in.integer_or("max_context", o.max_context, 0, int64_t(1) << 24);
  o.max_adapters = in.integer_or("max_adapters", o.max_adapters, 0, 4096);
  o.max_queue = in.integer_or("max_queue", o.max_queue, 0, 1 << 20);
  o.max_rank = in.integer_or("max_rank", o.max_rank, 1, 1 << 16);
  o.prefill_chunk = in.integer_or("prefill_chunk", o.prefill_chunk, 1, 1 << 16);
  o.prefill_budget = in.integer_or("prefill_budget", o.prefill_budget, 1, 1 << 20);
  o.row_tile = in.integer_or("row_tile", o.row_tile, 0, 1024);
  if (auto b = in.optional_boolean("batch_invariant")) {
    o.batch_invariant = *b;
    o.batch_invariant_given = true;
  }
  o.gpu_dtype = in.one_of_or("gpu_dtype", {"bf16", "fp32"}, o.gpu_dtype);
  o.device = in.one_of_or("device", {"cpu", "cuda", "auto"}, "cpu");
  in.finish();
  return o;
}

json ModelOptions::to_json() const {
  json j = {{"name", name},           {"path", path.string()},     {"max_batch", max_batch},
            {"max_context", max_context}, {"max_adapters", max_adapters}, {"max_queue", max_queue},
            {"max_rank", max_rank},   {"device", device},          {"prefill_chunk", prefill_chunk},
            {"prefill_budget", prefill_budget}, {"row_tile", row_tile},
            {"batch_invariant", batch_invariant}, {"gpu_dtype", gpu_dtype}};
  if (!device_note.empty()) j["device_note"] = device_note;
  return j;
}

}  // namespace wb::serve
