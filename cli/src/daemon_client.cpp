#include "wb/cli/daemon_client.h"

#include "wb/cli/errors.h"

namespace wb::cli {

using nlohmann::json;

DaemonError daemon_error_from(int status, std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const json& e = j["error"];
    std::string code = e.value("code", "http_" + std::to_string(status));
    std::string message = e.contains("message") && e["message"].is_string()
                              ? e["message"].get<std::string>()
                              : "workbenchd answered HTTP " + std::to_string(status);
    return DaemonError(status, code, message);
  }
  std::string msg = "workbenchd answered HTTP " + std::to_string(status);
  if (!body.empty()) msg += ": " + std::string(body.substr(0, 200));
  return DaemonError(status, "http_" + std::to_string(status), msg);
}

DaemonClient::DaemonClient(std::string socket_path) : http_(std::move(socket_path)) {}

json DaemonClient::parse_reply(const HttpResponse& r) const {
  if (r.status >= 400) throw daemon_error_from(r.status, r.body);
  if (r.body.empty()) return json::object();
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded())
    throw Error("workbenchd sent a response that is not JSON (HTTP " + std::to_string(r.status) +
                ")");
  return j;
}

json DaemonClient::get(std::string_view target) const {
  return parse_reply(http_.request("GET", target));
}

json DaemonClient::post(std::string_view target, const json& body) const {
  std::string text;
  try {
    text = body.dump();
  } catch (const json::type_error&) {
    // A command-line argument or file that is not UTF-8; JSON cannot carry it unchanged.
    throw Error("the request holds text that is not valid UTF-8 (check the arguments and files)");
  }
  return parse_reply(http_.request("POST", target, text));
}

json DaemonClient::del(std::string_view target) const {
  return parse_reply(http_.request("DELETE", target));
}

void DaemonClient::post_stream(std::string_view target, const json& body,
                               const std::function<bool(std::string_view)>& on_data) const {
  std::string text;
  try {
    text = body.dump();
  } catch (const json::type_error&) {
    throw Error("the request holds text that is not valid UTF-8 (check the arguments and files)");
  }
  std::string error_body;
  int status = http_.stream("POST", target, text, on_data, error_body);
  if (status >= 400) throw daemon_error_from(status, error_body);
}

void DaemonClient::stream(std::string_view target,
                          const std::function<bool(std::string_view)>& on_data) const {
  std::string error_body;
  int status = http_.stream(target, on_data, error_body);
  if (status >= 400) throw daemon_error_from(status, error_body);
}

void DaemonClient::stream_lines(std::string_view target,
                                const std::function<bool(std::string_view)>& on_line) const {
  std::string pending;
  bool stopped = false;
  stream(target, [&](std::string_view data) {
    pending.append(data);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (!on_line(std::string_view(pending).substr(start, nl - start))) {
        stopped = true;
        return false;
      }
    }
    pending.erase(0, start);
    return true;
  });
  if (!stopped && !pending.empty()) on_line(pending);
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace wb::cli
