#include "model_options.h"

#include "json_fields.h"
#include "serve_error.h"

namespace wb::serve {

namespace {

using nlohmann::json;

const JsonFields kFields("load_model");

[[noreturn]] void bad(const std::string& field, const std::string& why) { kFields.fail(field, why); }

int64_t integer(const json& j, const char* field, int64_t lo, int64_t hi, int64_t dflt) {
  if (!j.contains(field)) return dflt;
  const int64_t x = kFields.integer(j.at(field), field);
  if (x < lo || x > hi) bad(field, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(x));
  return x;
}

std::string string(const json& j, const char* field, const std::string& dflt) {
  return j.contains(field) ? kFields.string(j.at(field), field) : dflt;
}

}  // namespace

ModelOptions ModelOptions::from_json(const json& j) {
  if (!j.is_object()) throw ServeError(WB_INVALID, "load_model: expected a JSON object");
  static const char* const kKnown[] = {"name", "path", "max_batch", "max_context", "max_adapters", "max_queue",
                                       "max_rank", "device", "prefill_chunk", "prefill_budget", "row_tile",
                                       "batch_invariant", "gpu_dtype"};
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (const char* f : kKnown) known = known || k == f;
    if (!known) bad(k, "is not a known field");
  }
  ModelOptions o;
  if (!j.contains("path")) bad("path", "is required (the model directory)");
  o.path = string(j, "path", "");
  if (o.path.empty()) bad("path", "must not be empty");
  o.name = string(j, "name", o.path.filename().string());
  if (o.name.empty()) o.name = o.path.parent_path().filename().string();
  o.max_batch = integer(j, "max_batch", 1, 4096, o.max_batch);
  o.max_context = integer(j, "max_context", 0, int64_t(1) << 24, o.max_context);
  o.max_adapters = integer(j, "max_adapters", 0, 4096, o.max_adapters);
  o.max_queue = integer(j, "max_queue", 0, 1 << 20, o.max_queue);
  o.max_rank = integer(j, "max_rank", 1, 1 << 16, o.max_rank);
  o.prefill_chunk = integer(j, "prefill_chunk", 1, 1 << 16, o.prefill_chunk);
  o.prefill_budget = integer(j, "prefill_budget", 1, 1 << 20, o.prefill_budget);
  o.row_tile = integer(j, "row_tile", 0, 1024, o.row_tile);
  if (j.contains("batch_invariant")) {
    if (!j.at("batch_invariant").is_boolean()) bad("batch_invariant", "must be a boolean");
    o.batch_invariant = j.at("batch_invariant").get<bool>();
    o.batch_invariant_given = true;
  }
  o.gpu_dtype = string(j, "gpu_dtype", o.gpu_dtype);
  if (o.gpu_dtype != "bf16" && o.gpu_dtype != "fp32")
    bad("gpu_dtype", "must be \"bf16\" or \"fp32\", got \"" + o.gpu_dtype + "\"");
  o.device = string(j, "device", "cpu");
  if (o.device != "cpu" && o.device != "cuda" && o.device != "auto")
    bad("device", "must be \"cpu\", \"cuda\" or \"auto\", got \"" + o.device + "\"");
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
