// remote_host.h — wb-worker's side of the host table: every wb_host function carried over the
// channel to the daemon (transport.h: the socketpair or HTTP; messages in docs/PLUGINS.md).
//
// Reports (job_log, job_progress, job_metric, log) are sent and not answered. Calls that need an
// answer (job_checkpoint, lookup, dataset_rows, comparison_insert, register_artifact) send a
// "call" with an id and block until the daemon's "reply" with that id arrives; dataset_rows
// fetches the rows a page at a time. job_cancelled and job_shutting_down answer from flags the
// daemon's "cancel" and "shutdown" messages raise (no round trip: plugins ask every step).
// job_dir and data_dir come from the "start" message. A reader thread takes the daemon's
// messages; a heartbeat thread sends one every heartbeat interval. When the daemon's end closes,
// the worker exits at once (_exit 70): nothing it did could be recorded any more.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "plugins/plugin_abi_v2.h"
#include "wb/wb_plugin.h"
#include "worker/transport.h"

namespace wb::worker {

class RemoteHost {
 public:
  // `start` is the daemon's "start" message. Starts the reader and heartbeat threads.
  RemoteHost(Transport& channel, const nlohmann::json& start);
  ~RemoteHost();
  RemoteHost(const RemoteHost&) = delete;
  RemoteHost& operator=(const RemoteHost&) = delete;

  // The ABI 3 table (ctx = this) and the ABI 2 table (one RemoteHost per process).
  const wb_host& table() const { return table_; }
  const daemon::abi_v2::wb_host& table_v2() const { return table_v2_; }

  // Sends the plugin's result: the last message of a run.
  void send_result(wb_status status, const std::string& message);

  // ---- what the host functions do ----
  void report(nlohmann::json message);  // a message without an answer
  // Sends a call and waits for its reply: {"status", "message", "result"?}.
  nlohmann::json call(nlohmann::json message);
  bool cancelled() const { return cancelled_.load() || shutting_down_.load(); }
  bool shutting_down() const { return shutting_down_.load(); }
  const std::string& data_dir() const { return data_dir_; }

 private:
  void read_loop();
  void heartbeat_loop(std::chrono::milliseconds every);

  Transport& ch_;
  std::string data_dir_;
  std::atomic<bool> cancelled_{false}, shutting_down_{false};
  wb_host table_{};
  daemon::abi_v2::wb_host table_v2_{};

  std::mutex mu_;
  std::condition_variable cv_;
  std::int64_t next_id_ = 0;
  std::map<std::int64_t, nlohmann::json> replies_;  // arrived, not yet taken
  bool stopping_ = false;
  std::thread reader_, heartbeat_;
};

}  // namespace wb::worker
