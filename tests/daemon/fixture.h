// fixture.h — a running workbenchd on a fresh temp data dir + socket, with JSON helpers.
//
//   DaemonFixture d;                                   // sleeper plugin, started
//   auto [status, body] = d.post("/v1/jobs", {{"kind","sleep"},{"spec",{{"steps",1}}}});
//   nlohmann::json job = d.wait_job(id, "succeeded");
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon_process.h"
#include "unix_http.h"

namespace wbtest {

using nlohmann::json;

struct Reply {
  int status = 0;
  json body;
  std::string text;
};

inline Reply to_reply(const HttpResult& r) {
  Reply out{r.status, json(), r.body};
  out.body = json::parse(r.body, nullptr, false);
  return out;
}

class DaemonFixture {
 public:
  // config_toml: when not empty, written to <tmp>/workbench.toml and passed as --config.
  explicit DaemonFixture(std::vector<std::filesystem::path> plugin_dirs = {test_plugin_dir()}, bool start = true,
                         const std::string& config_toml = "")
      : process(tmp.path() / "data", tmp.path() / "run/wb.sock", std::move(plugin_dirs), config_args(tmp.path(), config_toml)) {
    if (start) process.start();
  }

  std::string socket() const { return process.socket().string(); }

  Reply get(const std::string& target) { return to_reply(http(socket(), "GET", target)); }
  Reply del(const std::string& target) { return to_reply(http(socket(), "DELETE", target)); }
  Reply post(const std::string& target, const json& body) { return to_reply(http(socket(), "POST", target, body.dump())); }
  Reply post_raw(const std::string& target, const std::string& body) { return to_reply(http(socket(), "POST", target, body)); }

  // Submits a sleep job; returns its id (requires 201).
  std::int64_t submit_sleep(const json& spec) {
    Reply r = post("/v1/jobs", {{"kind", "sleep"}, {"spec", spec}});
    if (r.status != 201) throw std::runtime_error("submit failed: " + r.text);
    return r.body["id"].get<std::int64_t>();
  }

  json job(std::int64_t id) { return get("/v1/jobs/" + std::to_string(id)).body; }

  // Polls until the job is in `state` (or the timeout passes); returns the last record.
  json wait_job(std::int64_t id, const std::string& state, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    json last;
    eventually([&] {
      last = job(id);
      return last.is_object() && last.value("state", "") == state;
    }, timeout);
    return last;
  }

  TempDir tmp;
  DaemonProcess process;
};

}  // namespace wbtest
