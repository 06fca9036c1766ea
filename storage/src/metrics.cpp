#include "wb/storage/metrics.h"

#include <cmath>

#include "wb/storage/connection.h"
#include "wb/storage/error.h"

namespace wb::storage {

namespace {

void require_job(Database& db, std::int64_t job) {
  auto st = db.prepare("SELECT 1 FROM jobs WHERE id = ?1");
  st.bind(1, job);
  if (!st.step()) throw NotFound("job " + std::to_string(job) + " not found");
}

void validate_point(std::string_view name, double value) {
  if (name.empty()) throw Invalid("field 'name': must not be empty");
  if (!std::isfinite(value))
    throw Invalid("metric '" + std::string(name) + "': value must be finite, got " + std::to_string(value));
}

}  // namespace

void MetricRepository::add(std::int64_t job, std::int64_t step, std::string_view name, double value) {
  add_batch(job, {MetricPoint{step, std::string(name), value}});
}

void MetricRepository::add_batch(std::int64_t job, const std::vector<MetricPoint>& points) {
  for (const auto& p : points) validate_point(p.name, p.value);
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  require_job(db, job);
  // A step written again (a job resumed from a checkpoint repeats the steps after it) replaces
  // the earlier point: one point per (job, name, step).
  auto ins = db.prepare(
      "INSERT INTO metrics (job_id, step, name, value) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (job_id, name, step) DO UPDATE SET value = excluded.value");
  for (const auto& p : points) {
    ins.bind(1, job).bind(2, p.step).bind(3, p.name).bind(4, p.value).run();
    ins.reset();
  }
  tx.commit();
}

std::vector<MetricPoint> MetricRepository::list(std::int64_t job, std::optional<std::string_view> name) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  require_job(db, job);
  auto st = db.prepare(
      "SELECT step, name, value FROM metrics WHERE job_id = ?1 AND (?2 IS NULL OR name = ?2) ORDER BY step, id");
  st.bind(1, job);
  if (name) st.bind(2, *name); else st.bind(2, nullptr);
  std::vector<MetricPoint> out;
  while (st.step()) out.push_back(MetricPoint{st.column_int64(0), st.column_text(1), st.column_double(2)});
  return out;
}

std::map<std::string, MetricPoint> MetricRepository::latest(std::int64_t job) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  require_job(db, job);
  // In (step, id) order a later row replaces an earlier one: the map ends with the latest point.
  auto st = db.prepare("SELECT step, name, value FROM metrics WHERE job_id = ?1 ORDER BY step, id");
  st.bind(1, job);
  std::map<std::string, MetricPoint> out;
  while (st.step()) {
    MetricPoint p{st.column_int64(0), st.column_text(1), st.column_double(2)};
    out[p.name] = p;
  }
  return out;
}

std::int64_t MetricRepository::add_log(std::int64_t job, std::string_view level, std::string_view message) {
  if (level != "debug" && level != "info" && level != "warn" && level != "error")
    throw Invalid("field 'level': expected one of debug, info, warn, error, got \"" + std::string(level) + "\"");
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  require_job(db, job);
  auto ins = db.prepare("INSERT INTO job_logs (job_id, time, level, message) VALUES (?1, ?2, ?3, ?4)");
  ins.bind(1, job).bind(2, now_iso8601_ms()).bind(3, level).bind(4, message).run();
  const std::int64_t id = db.last_insert_rowid();
  tx.commit();
  return id;
}

std::vector<LogRecord> MetricRepository::logs(std::int64_t job, std::int64_t after_id, std::int64_t limit) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  require_job(db, job);
  auto st = db.prepare(
      "SELECT id, job_id, time, level, message FROM job_logs WHERE job_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
  st.bind(1, job).bind(2, after_id).bind(3, limit > 0 ? limit : std::int64_t{-1});
  std::vector<LogRecord> out;
  while (st.step())
    out.push_back(LogRecord{st.column_int64(0), st.column_int64(1), st.column_text(2), st.column_text(3), st.column_text(4)});
  return out;
}

}  // namespace wb::storage
