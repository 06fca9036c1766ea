#include "wb/storage/jobs.h"

#include <cmath>

#include "json_fields.h"
#include "wb/json/reader.h"
#include "wb/storage/connection.h"
#include "wb/storage/error.h"

namespace wb::storage {

namespace {

constexpr const char* kColumns =
    "SELECT id, kind, spec, state, progress, phase, error, created, started, finished, checkpoint, attempts, "
    "cancel_requested, priority, crashes, resumed_after_crash, slurm_job_id FROM jobs";

JobRecord read_job(const Statement& st) {
  JobRecord r;
  r.id = st.column_int64(0);
  r.kind = st.column_text(1);
  r.spec = nlohmann::json::parse(st.column_text(2));
  r.state = parse_job_state(st.column_text(3)).value_or(JobState::Failed);
  r.progress = st.column_double(4);
  r.phase = st.column_text(5);
  r.error = st.column_optional_text(6);
  r.created = st.column_text(7);
  r.started = st.column_optional_text(8);
  r.finished = st.column_optional_text(9);
  r.checkpoint = st.column_optional_text(10);
  r.attempts = static_cast<int>(st.column_int64(11));
  r.cancel_requested = st.column_int64(12) != 0;
  r.priority = static_cast<int>(st.column_int64(13));
  r.crashes = static_cast<int>(st.column_int64(14));
  r.resumed_after_crash = st.column_int64(15) != 0;
  r.slurm_job_id = st.column_optional_text(16);
  return r;
}

std::optional<JobRecord> find_locked(Database& db, std::int64_t id) {
  auto st = db.prepare(std::string(kColumns) + " WHERE id = ?1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_job(st);
}

JobRecord require_locked(Database& db, std::int64_t id) {
  auto r = find_locked(db, id);
  if (!r) throw NotFound("job " + std::to_string(id) + " not found");
  return *r;
}

[[noreturn]] void illegal(const JobRecord& job, JobState to) {
  throw Conflict("job " + std::to_string(job.id) + ": cannot go from " + std::string(to_string(job.state)) + " to " +
                 std::string(to_string(to)));
}

}  // namespace

JobRecord JobRepository::create(std::string_view kind, const nlohmann::json& spec, int priority) {
  if (kind.empty()) throw Invalid("field 'kind': must not be empty");
  if (!spec.is_object()) throw Invalid("field 'spec': expected an object, got " + describe_json(spec));
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  auto st = db.prepare("INSERT INTO jobs (kind, spec, state, created, priority) VALUES (?1, ?2, 'queued', ?3, ?4)");
  st.bind(1, kind).bind(2, spec.dump()).bind(3, now_iso8601()).bind(4, priority).run();
  auto record = require_locked(db, db.last_insert_rowid());
  tx.commit();
  return record;
}

JobRecord JobRepository::get(std::int64_t id) {
  auto lock = conn_.lock();
  return require_locked(conn_.db(), id);
}

std::optional<JobRecord> JobRepository::find(std::int64_t id) {
  auto lock = conn_.lock();
  return find_locked(conn_.db(), id);
}

std::vector<JobRecord> JobRepository::list(std::optional<JobState> state, std::int64_t limit) {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare(std::string(kColumns) + " WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC LIMIT ?2");
  if (state) st.bind(1, to_string(*state)); else st.bind(1, nullptr);
  st.bind(2, limit > 0 ? limit : std::int64_t{-1});
  std::vector<JobRecord> out;
  while (st.step()) out.push_back(read_job(st));
  return out;
}

std::map<JobState, std::int64_t> JobRepository::counts() {
  std::map<JobState, std::int64_t> out{{JobState::Queued, 0},
                                       {JobState::Running, 0},
                                       {JobState::Succeeded, 0},
                                       {JobState::Failed, 0},
                                       {JobState::Cancelled, 0},
                                       {JobState::Held, 0}};
  auto lock = conn_.lock();
  auto st = conn_.db().prepare("SELECT state, count(*) FROM jobs GROUP BY state");
  while (st.step())
    if (auto s = parse_job_state(st.column_text(0))) out[*s] = st.column_int64(1);
  return out;
}

std::optional<JobRecord> JobRepository::claim_next(const std::vector<std::string>& kinds) {
  std::string sql = "SELECT id FROM jobs WHERE state = 'queued'";
  if (!kinds.empty()) {
    sql += " AND kind IN (";
    for (std::size_t i = 0; i < kinds.size(); ++i) sql += i ? ", ?" + std::to_string(i + 1) : "?1";
    sql += ")";
  }
  sql += " ORDER BY priority DESC, id LIMIT 1";
  auto lock = conn_.lock();
  Database& db = conn_.db();
  // IMMEDIATE: the select and the update run under the write lock, so another process cannot
  // claim the same row in between.
  Transaction tx(db);
  auto pick = db.prepare(sql);
  for (std::size_t i = 0; i < kinds.size(); ++i) pick.bind(static_cast<int>(i + 1), kinds[i]);
  if (!pick.step()) return std::nullopt;
  const std::int64_t id = pick.column_int64(0);
  auto upd = db.prepare("UPDATE jobs SET state = 'running', started = ?2 WHERE id = ?1 AND state = 'queued'");
  upd.bind(1, id).bind(2, now_iso8601()).run();
  auto record = require_locked(db, id);
  tx.commit();
  return record;
}

JobRecord JobRepository::start(std::int64_t id) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  auto job = require_locked(db, id);
  if (job.state != JobState::Queued) illegal(job, JobState::Running);
  auto upd = db.prepare("UPDATE jobs SET state = 'running', started = ?2 WHERE id = ?1");
  upd.bind(1, id).bind(2, now_iso8601()).run();
  auto record = require_locked(db, id);
  tx.commit();
  return record;
}

JobRecord JobRepository::finish(std::int64_t id, JobState to, std::optional<std::string> error) {
  if (!is_final(to))
    throw Invalid("finish(): state '" + std::string(to_string(to)) + "' is not final (succeeded, failed or cancelled)");
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  auto job = require_locked(db, id);
  if (job.state != JobState::Running) illegal(job, to);
  auto upd = db.prepare(
      "UPDATE jobs SET state = ?2, error = ?3, finished = ?4, progress = CASE WHEN ?2 = 'succeeded' THEN 1 ELSE "
      "progress END WHERE id = ?1");
  upd.bind(1, id).bind(2, to_string(to)).bind(3, error).bind(4, now_iso8601()).run();
  auto record = require_locked(db, id);
  tx.commit();
  return record;
}

JobRecord JobRepository::requeue(std::int64_t id) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  auto job = require_locked(db, id);
  if (job.state != JobState::Running) illegal(job, JobState::Queued);
  auto upd = db.prepare(
      "UPDATE jobs SET state = 'queued', attempts = attempts + 1, cancel_requested = 0, resumed_after_crash = 0 "
      "WHERE id = ?1");
  upd.bind(1, id).run();
  auto record = require_locked(db, id);
  tx.commit();
  return record;
}

JobRecord JobRepository::cancel(std::int64_t id) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  auto job = require_locked(db, id);
  if (is_final(job.state))
    throw Conflict("job " + std::to_string(id) + " already finished (" + std::string(to_string(job.state)) + ")");
  if (job.state == JobState::Queued || job.state == JobState::Held) {
    auto upd = db.prepare("UPDATE jobs SET state = 'cancelled', finished = ?2 WHERE id = ?1");
    upd.bind(1, id).bind(2, now_iso8601()).run();
  } else {
    auto upd = db.prepare("UPDATE jobs SET cancel_requested = 1 WHERE id = ?1");
    upd.bind(1, id).run();
  }
  auto record = require_locked(db, id);
  tx.commit();
  return record;
}

bool JobRepository::cancel_requested(std::int64_t id) {
  auto lock = conn_.lock();
  return require_locked(conn_.db(), id).cancel_requested;
}

void JobRepository::set_progress(std::int64_t id, double progress, std::string_view phase) {
  if (!std::isfinite(progress) || progress < 0 || progress > 1)
    throw Invalid("field 'progress': expected a number 0..1, got " + nlohmann::json(progress).dump());
  auto lock = conn_.lock();
  Database& db = conn_.db();
  auto upd = db.prepare("UPDATE jobs SET progress = ?2, phase = ?3 WHERE id = ?1 AND state = 'running'");
  upd.bind(1, id).bind(2, progress).bind(3, phase).run();
  if (db.changes() == 0) {
    auto job = require_locked(db, id);
    throw Conflict("job " + std::to_string(id) + " is " + std::string(to_string(job.state)) +
                   ", progress is recorded only while running");
  }
}

void JobRepository::set_checkpoint(std::int64_t id, std::string_view path) {
  if (path.empty()) throw Invalid("field 'checkpoint': must not be empty");
  auto lock = conn_.lock();
  Database& db = conn_.db();
  auto upd = db.prepare("UPDATE jobs SET checkpoint = ?2 WHERE id = ?1");
  upd.bind(1, id).bind(2, path).run();
  if (db.changes() == 0) throw NotFound("job " + std::to_string(id) + " not found");
}

void JobRepository::set_slurm_job_id(std::int64_t id, std::string_view slurm_id) {
  if (slurm_id.empty()) throw Invalid("field 'slurm_job_id': must not be empty");
  auto lock = conn_.lock();
  Database& db = conn_.db();
  auto upd = db.prepare("UPDATE jobs SET slurm_job_id = ?2 WHERE id = ?1");
  upd.bind(1, id).bind(2, slurm_id).run();
  if (db.changes() == 0) throw NotFound("job " + std::to_string(id) + " not found");
}

JobRecord JobRepository::hold(std::int64_t id, std::string_view reason) {
  if (reason.empty()) throw Invalid("hold(): a held job needs a reason");
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  auto job = require_locked(db, id);
  if (job.state != JobState::Running) illegal(job, JobState::Held);
  auto upd = db.prepare(
      "UPDATE jobs SET state = 'held', error = ?2, attempts = attempts + 1, cancel_requested = 0, "
      "resumed_after_crash = 0 WHERE id = ?1");
  upd.bind(1, id).bind(2, reason).run();
  auto record = require_locked(db, id);
  tx.commit();
  return record;
}

JobRecord JobRepository::retry(std::int64_t id, const std::optional<nlohmann::json>& spec) {
  if (spec && !spec->is_object()) throw Invalid("field 'spec': expected an object, got " + describe_json(*spec));
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  auto job = require_locked(db, id);
  if (job.state != JobState::Held)
    throw Conflict("job " + std::to_string(id) + " is " + std::string(to_string(job.state)) +
                   "; only a held job can be retried");
  auto upd = db.prepare("UPDATE jobs SET state = 'queued', error = NULL, resumed_after_crash = 0 WHERE id = ?1");
  upd.bind(1, id).run();
  if (spec) db.prepare("UPDATE jobs SET spec = ?2 WHERE id = ?1").bind(1, id).bind(2, spec->dump()).run();
  auto record = require_locked(db, id);
  tx.commit();
  return record;
}

namespace {

// One running job whose run ended by a death (`what` says whose, e.g. "the daemon stopped (killed
// or crashed) while this job ran"): the rule recover_after_crash() documents, applied and stored.
void record_death(Database& db, const JobRecord& job, int max_attempts, const std::string& what,
                  const std::string& now) {
  const int crashes = job.crashes + 1;  // counting the death just found
  std::string state = "queued";
  std::optional<std::string> error;
  std::optional<std::string> finished;
  if (job.cancel_requested) {
    // A job whose cancel was already requested is not run again: it ends cancelled.
    state = "cancelled";
    finished = now;
  } else if (crashes >= max_attempts) {
    state = "failed";
    finished = now;
    error = what + ", " + std::to_string(crashes) + (crashes == 1 ? " time" : " times") +
            " (jobs.max_attempts = " + std::to_string(max_attempts) + "); not started again";
  } else if (job.resumed_after_crash) {
    state = "held";
    error = what + ", twice in a row; held until a person releases it (wb job retry " + std::to_string(job.id) + ")";
  }
  auto upd = db.prepare(
      "UPDATE jobs SET state = ?2, error = ?3, finished = ?4, crashes = ?5, "
      "attempts = attempts + CASE WHEN ?2 IN ('queued', 'held') THEN 1 ELSE 0 END, "
      "resumed_after_crash = CASE WHEN ?2 = 'queued' THEN 1 ELSE 0 END WHERE id = ?1");
  upd.bind(1, job.id).bind(2, state).bind(3, error).bind(4, finished).bind(5, crashes).run();
}

}  // namespace

std::vector<JobRecord> JobRepository::recover_after_crash(int max_attempts) {
  if (max_attempts < 1) throw Invalid("recover_after_crash(): max_attempts must be at least 1");
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  std::vector<JobRecord> running;
  {
    auto st = db.prepare(std::string(kColumns) + " WHERE state = 'running' ORDER BY id");
    while (st.step()) running.push_back(read_job(st));
  }
  const std::string now = now_iso8601();
  for (const JobRecord& job : running)
    record_death(db, job, max_attempts, "the daemon stopped (killed or crashed) while this job ran", now);
  std::vector<JobRecord> changed;
  for (const JobRecord& job : running) changed.push_back(require_locked(db, job.id));
  tx.commit();
  return changed;
}

JobRecord JobRepository::worker_died(std::int64_t id, std::string_view cause, int max_attempts) {
  if (max_attempts < 1) throw Invalid("worker_died(): max_attempts must be at least 1");
  if (cause.empty()) throw Invalid("worker_died(): a cause is required");
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  auto job = require_locked(db, id);
  if (job.state != JobState::Running) illegal(job, JobState::Queued);
  record_death(db, job, max_attempts, std::string(cause) + ": the job's worker process died while it ran", now_iso8601());
  auto record = require_locked(db, id);
  tx.commit();
  return record;
}

}  // namespace wb::storage
