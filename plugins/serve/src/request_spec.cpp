#include "request_spec.h"

#include <cmath>

#include "json_fields.h"
#include "serve_error.h"

namespace wb::serve {

namespace {

using nlohmann::json;

const JsonFields kFields("request");

[[noreturn]] void bad(const std::string& field, const std::string& why) { kFields.fail(field, why); }
double number(const json& v, const std::string& field) { return kFields.number(v, field); }
int64_t integer(const json& v, const std::string& field) { return kFields.integer(v, field); }
std::string string(const json& v, const std::string& field) { return kFields.string(v, field); }

}  // namespace

RequestSpec RequestSpec::from_json(const json& j) {
  if (!j.is_object()) throw ServeError(WB_INVALID, "request: expected a JSON object");
  RequestSpec r;
  for (const auto& [k, v] : j.items()) {
    if (k == "prompt") {
      if (v.is_string()) {
        r.prompt_text = v.get<std::string>();
      } else if (v.is_array()) {
        std::vector<int32_t> ids;
        for (const auto& e : v) {
          if (!e.is_number_integer()) bad("prompt", "must be a string or an array of token ids");
          const int64_t id = e.get<int64_t>();
          if (id < 0 || id > INT32_MAX) bad("prompt", "token id " + std::to_string(id) + " is out of range");
          ids.push_back(static_cast<int32_t>(id));
        }
        r.prompt_ids = std::move(ids);
      } else {
        bad("prompt", "must be a string or an array of token ids");
      }
    } else if (k == "messages") {
      if (!v.is_array()) bad("messages", "must be an array of {\"role\",\"content\"} objects");
      std::vector<llama::ChatMessage> msgs;
      for (size_t i = 0; i < v.size(); ++i) {
        const json& m = v[i];
        const std::string where = "messages[" + std::to_string(i) + "]";
        if (!m.is_object() || !m.contains("role") || !m.contains("content"))
          bad(where, "must be an object with \"role\" and \"content\"");
        for (const auto& [mk, mv] : m.items())
          if (mk != "role" && mk != "content" && mk != "name") bad(where + "." + mk, "is not a known field");
        msgs.push_back({string(m.at("role"), where + ".role"), string(m.at("content"), where + ".content")});
      }
      r.messages = std::move(msgs);
    } else if (k == "model") {
      r.model = string(v, "model");
    } else if (k == "adapter") {
      if (!v.is_null()) r.adapter = string(v, "adapter");
    } else if (k == "adapter_scale") {
      if (!v.is_null()) r.adapter_scale = number(v, "adapter_scale");
    } else if (k == "max_tokens") {
      r.max_tokens = integer(v, "max_tokens");
      if (r.max_tokens < 0) bad("max_tokens", "must be >= 0");
    } else if (k == "temperature") {
      r.sampling.temperature = number(v, "temperature");
      if (r.sampling.temperature < 0) bad("temperature", "must be >= 0");
    } else if (k == "top_p") {
      r.sampling.top_p = number(v, "top_p");
    } else if (k == "top_k") {
      r.sampling.top_k = integer(v, "top_k");
    } else if (k == "seed") {
      if (!v.is_null()) {
        if (!v.is_number_integer()) bad("seed", "must be an integer");
        r.sampling.seed = v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(v.get<int64_t>());
        r.seeded = true;
      }
    } else if (k == "stop") {
      if (v.is_string()) {
        r.stop.push_back(v.get<std::string>());
      } else if (v.is_array()) {
        for (const auto& s : v) r.stop.push_back(string(s, "stop"));
      } else if (!v.is_null()) {
        bad("stop", "must be a string or an array of strings");
      }
      for (const auto& s : r.stop)
        if (s.empty()) bad("stop", "must not contain an empty string");
    } else if (k == "ignore_eos") {
      if (!v.is_boolean()) bad("ignore_eos", "must be a boolean");
      r.ignore_eos = v.get<bool>();
    } else if (k == "stream") {
      if (!v.is_boolean()) bad("stream", "must be a boolean");
    } else {
      bad(k, "is not a known field");
    }
  }
  const int sources = (r.prompt_text ? 1 : 0) + (r.prompt_ids ? 1 : 0) + (r.messages ? 1 : 0);
  if (sources != 1) throw ServeError(WB_INVALID, "request: give exactly one of \"prompt\" or \"messages\"");
  if (r.prompt_ids && r.prompt_ids->empty()) bad("prompt", "must not be empty");
  try {
    r.sampling.validate();
  } catch (const std::invalid_argument& e) {
    throw ServeError(WB_INVALID, std::string("request: ") + e.what());
  }
  return r;
}

}  // namespace wb::serve
