#include "serving/serving.h"

#include <cstring>

#include "http/api_error.h"
#include "plugins/plugin_status.h"

namespace wb::daemon {

using nlohmann::json;

const wb_serving& Serving::table() const {
  const wb_serving* s = plugins_.serving();
  if (!s) throw unavailable("no loaded plugin serves requests (is libwb_serve.so in a plugin directory?)");
  if (s->struct_size < sizeof(wb_serving))
    throw ApiError(500, "plugin_error", "the serving plugin's wb_serving table is older than this daemon's");
  return *s;
}

void Serving::fail(wb_status st, const wb_error& err, const std::string& what, bool load) {
  std::string msg(err.message, strnlen(err.message, WB_ERROR_CAPACITY));
  if (msg.empty()) msg = what + " failed without a message";
  throw plugin_failure(st, msg, load ? conflict(msg) : ApiError(429, "queue_full", msg));
}

namespace {

// Runs one table call that may throw across the ABI (a plugin bug) and maps its status.
template <typename F>
void call(const std::string& what, bool load, F&& f) {
  wb_error err{};
  wb_status st = WB_ERROR;
  try {
    st = f(&err);
  } catch (...) {
    throw ApiError(500, "plugin_error", what + " threw an exception across the C ABI");
  }
  err.message[WB_ERROR_CAPACITY - 1] = 0;
  if (st != WB_OK) Serving::fail(st, err, what, load);
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

json Serving::stats() const {
  const wb_serving& t = table();
  std::string text;
  call("stats()", false, [&](wb_error* e) {
    return t.stats([](void* u, const char* s) { *static_cast<std::string*>(u) = s ? s : ""; }, &text, e);
  });
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ApiError(500, "plugin_error", "stats() answered text that is not a JSON object");
  return j;
}

std::optional<std::string> Serving::model_name(const json& stats) {
  if (!stats.is_object() || !stats.contains("model")) return std::nullopt;
  const json& m = stats["model"];
  if (m.is_string() && !m.get<std::string>().empty()) return m.get<std::string>();
  if (m.is_object() && m.contains("name") && m["name"].is_string()) return m["name"].get<std::string>();
  return std::nullopt;
}

void Serving::load_model(const json& request) const {
  const wb_serving& t = table();
  std::string text = dump(request);
  call("load_model()", true, [&](wb_error* e) { return t.load_model(text.c_str(), e); });
}

void Serving::unload_model() const {
  const wb_serving& t = table();
  call("unload_model()", true, [&](wb_error* e) { return t.unload_model(e); });
}

void Serving::load_adapter(const json& request) const {
  const wb_serving& t = table();
  std::string text = dump(request);
  call("load_adapter()", true, [&](wb_error* e) { return t.load_adapter(text.c_str(), e); });
}

void Serving::unload_adapter(const std::string& name) const {
  const wb_serving& t = table();
  call("unload_adapter()", true, [&](wb_error* e) { return t.unload_adapter(name.c_str(), e); });
}

}  // namespace wb::daemon
