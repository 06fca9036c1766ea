// wb/storage/metrics.h — per-job scalar metrics and log lines (tables `metrics`, `job_logs`).
// Thread-safe. Writing for an unknown job throws NotFound.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wb/storage/records.h"

namespace wb::storage {

class Connection;

class MetricRepository {
 public:
  explicit MetricRepository(Connection& conn) : conn_(conn) {}

  // name non-empty, value finite (Invalid otherwise). One point per (job, name, step): writing a
  // step again (a resumed job repeats the steps after its checkpoint) replaces its value.
  void add(std::int64_t job, std::int64_t step, std::string_view name, double value);
  // Many points in one transaction (all or nothing).
  void add_batch(std::int64_t job, const std::vector<MetricPoint>& points);
  // Points in step order; name nullopt = every metric.
  std::vector<MetricPoint> list(std::int64_t job, std::optional<std::string_view> name = std::nullopt);
  // Latest point of each metric (highest step).
  std::map<std::string, MetricPoint> latest(std::int64_t job);

  // level is one of debug|info|warn|error (Invalid otherwise). Returns the new line's id.
  std::int64_t add_log(std::int64_t job, std::string_view level, std::string_view message);
  // Lines with id > after_id in order; limit <= 0 means no limit.
  std::vector<LogRecord> logs(std::int64_t job, std::int64_t after_id = 0, std::int64_t limit = 0);

 private:
  Connection& conn_;
};

}  // namespace wb::storage
