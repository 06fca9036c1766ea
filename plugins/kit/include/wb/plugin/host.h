// host.h — a plugin's C++ view of the daemon's host table (wb_plugin.h, ABI 3).
//
//   Host::install(table);                       // once, from init()
//   auto rec = Host::lookup("model", "tiny");   // std::optional<json>, nullopt when not registered
//   JobHost job(handle);                        // inside run(): logs, progress, metrics, rows...
//   job.rows("sft-train", "train", [](int64_t i, const json& row) { ...; return true; });
//
// Every failure reported by the host becomes a HostError (a PluginError) carrying the host's status
// and message, so plugin code uses exceptions and only its entry points convert them back into a
// wb_status at the C boundary (guard.h). Each call passes the table's ctx back to the daemon.
// Install refuses a table older than ABI 3 or shorter than the functions this kit calls.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "wb/plugin/error.h"
#include "wb/wb_plugin.h"

namespace wb::plugin {

using nlohmann::json;

// A host call failed; status() is what the host answered (WB_NOT_FOUND, WB_INVALID, ...).
class HostError : public PluginError {
 public:
  using PluginError::PluginError;
};

class Host {
 public:
  // Records the table given to init(); every other function requires it. Throws
  // std::runtime_error naming `plugin` for a NULL table, one older than ABI 3, or one whose
  // struct_size does not cover every function (a plugin reads only what the host's struct holds).
  static void install(const wb_host* host, const std::string& plugin);
  static bool installed();
  static const wb_host& table();
  static std::filesystem::path data_dir();
  static void log(wb_log_level level, const std::string& message);
  // The registered record of kind "model" | "adapter" | "dataset", or nullopt when the host
  // answers WB_NOT_FOUND. Other failures throw HostError. `job` may be null (validate()).
  static std::optional<json> lookup(const std::string& kind, const std::string& name, wb_job* job = nullptr);
};

// One running job's reporting and data channel. Valid only during run().
class JobHost {
 public:
  explicit JobHost(wb_job* job) : job_(job) {}
  wb_job* handle() const { return job_; }

  void log(wb_log_level level, const std::string& message) const;
  void info(const std::string& message) const { log(WB_LOG_INFO, message); }
  void progress(double fraction, const std::string& phase) const;
  void metric(int64_t step, const std::string& name, double value) const;
  bool cancelled() const;
  bool shutting_down() const;
  // Persists `dir` as the job's latest checkpoint (resume_from after a restart).
  void checkpoint(const std::filesystem::path& dir) const;
  std::filesystem::path dir() const;

  // Calls on_row(index, row) for each row of `dataset` (split "train" | "eval" | "" for all) in
  // row order until it returns false. A row that is not JSON throws HostError.
  void rows(const std::string& dataset, const std::string& split,
            const std::function<bool(int64_t, const json&)>& on_row) const;
  // comparison_insert: one comparison (the JSON of POST /v1/comparisons) into a preference
  // dataset; throws HostError (WB_INVALID naming the field of a malformed comparison).
  void insert_comparison(const std::string& dataset, const json& comparison) const;
  // register_artifact; throws HostError (e.g. WB_INVALID when the name already exists).
  void register_artifact(const std::string& kind, const json& artifact) const;

 private:
  wb_job* job_;
};

}  // namespace wb::plugin
