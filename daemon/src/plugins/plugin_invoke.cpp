#include "plugins/plugin_invoke.h"

#include "http/api_error.h"
#include "plugins/plugin_status.h"

namespace wb::daemon {

using nlohmann::json;

json invoke_method(const PluginHost& plugins, const std::string& method, const json& request) {
  const wb_plugin* p = plugins.for_method(method);
  if (!p || !p->invoke) {
    std::string known;
    for (auto& info : plugins.plugins())
      for (auto& m : info.methods) known += (known.empty() ? "" : ", ") + m;
    throw ApiError(422, "unsupported_method", "no loaded plugin answers '" + method + "' (loaded methods: " +
                                                  (known.empty() ? "none" : known) + ")");
  }
  std::string text = request.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string answer;
  bool emitted = false;
  struct Sink {
    std::string* out;
    bool* emitted;
  } sink{&answer, &emitted};
  auto emit = [](void* user, const char* t) {
    auto* s = static_cast<Sink*>(user);
    *s->out = t ? t : "";
    *s->emitted = true;
  };
  wb_error err{};
  wb_status st = WB_ERROR;
  try {
    st = p->invoke(method.c_str(), text.c_str(), emit, &sink, &err);
  } catch (...) {
    throw ApiError(500, "plugin_error", "plugin method '" + method + "' threw an exception across the C ABI");
  }
  err.message[WB_ERROR_CAPACITY - 1] = 0;
  std::string msg = err.message[0] ? err.message : "plugin method '" + method + "' failed without a message";
  if (st != WB_OK) throw plugin_failure(st, msg, ApiError(429, "busy", msg));
  if (!emitted) throw ApiError(500, "plugin_error", "plugin method '" + method + "' returned no answer");
  json out = json::parse(answer, nullptr, false);
  if (out.is_discarded())
    throw ApiError(500, "plugin_error", "plugin method '" + method + "' answered text that is not JSON");
  return out;
}

}  // namespace wb::daemon
