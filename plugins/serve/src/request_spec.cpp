#include "request_spec.h"

#include <cmath>

#include "wb/json/reader.h"
#include "wb/plugin/error.h"

namespace wb::serve {

using nlohmann::json;

RequestSpec RequestSpec::from_json(const json& j) {
  JsonReader in(j);
  RequestSpec r;
  if (const json* v = in.find("prompt"); v && !v->is_null()) {
    if (v->is_string()) {
      r.prompt_text = v->get<std::string>();
    } else if (v->is_array()) {
      std::vector<int32_t> ids;
      for (const auto& e : *v) {
        if (!e.is_number_integer()) in.fail("prompt", "expected a string or an array of token ids, got " + describe_json(*v));
        const int64_t id = e.get<int64_t>();
        if (id < 0 || id > INT32_MAX) in.fail("prompt", "token id " + std::to_string(id) + " is out of range");
        ids.push_back(static_cast<int32_t>(id));
      }
      r.prompt_ids = std::move(ids);
    } else {
      in.fail("prompt", "expected a string or an array of token ids, got " + describe_json(*v));
    }
  }
  if (const json* v = in.find("messages"); v && !v->is_null()) {
    if (!v->is_array()) in.fail("messages", "expected an array of {\"role\",\"content\"} objects, got " + describe_json(*v));
    std::vector<llama::ChatMessage> msgs;
    for (size_t i = 0; i < v->size(); ++i) {
      JsonReader m((*v)[i], "messages[" + std::to_string(i) + "].");
      llama::ChatMessage msg{m.string("role"), m.string("content", /*allow_empty=*/true)};
      m.allow("name");
      m.finish();
      msgs.push_back(std::move(msg));
    }
    r.messages = std::move(msgs);
  }
  r.model = in.optional_string("model", /*allow_empty=*/true);
  r.adapter = in.optional_string("adapter", /*allow_empty=*/true);
  r.adapter_scale = in.optional_number("adapter_scale");
  r.max_tokens = in.integer_or("max_tokens", r.max_tokens, 0);
  r.sampling.temperature = in.number_or("temperature", r.sampling.temperature, 0.0);
  r.sampling.top_p = in.number_or("top_p", r.sampling.top_p);
  r.sampling.top_k = in.integer_or("top_k", r.sampling.top_k);
  if (const json* v = in.find("seed"); v && !v->is_null()) {
    if (!v->is_number_integer()) in.fail("seed", "expected an integer, got " + describe_json(*v));
    r.sampling.seed = v->is_number_unsigned() ? v->get<uint64_t>() : static_cast<uint64_t>(v->get<int64_t>());
    r.seeded = true;
  }
  if (auto stop = in.optional_strings("stop")) r.stop = std::move(*stop);
  r.ignore_eos = in.boolean_or("ignore_eos", r.ignore_eos);
  r.n = in.integer_or("n", r.n, 1, 4096);
  r.logprobs = in.integer_or("logprobs", r.logprobs, 0, 20);
  r.batch_invariant = in.boolean_or("batch_invariant", r.batch_invariant);
  (void)in.boolean_or("stream", false);  // the daemon streams; accepted here as OpenAI clients send it
  in.finish();
  const int sources = (r.prompt_text ? 1 : 0) + (r.prompt_ids ? 1 : 0) + (r.messages ? 1 : 0);
  if (sources != 1) in.fail("prompt", "give exactly one of \"prompt\" or \"messages\"");
  if (r.prompt_ids && r.prompt_ids->empty()) in.fail("prompt", "must not be empty");
  try {
    r.sampling.validate();
  } catch (const std::invalid_argument& e) {
    throw plugin::PluginError(WB_INVALID, std::string("request: ") + e.what());
  }
  return r;
}

}  // namespace wb::serve
