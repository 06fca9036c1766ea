// The schema, as an append-only list of steps keyed by PRAGMA user_version.
#include "wb/storage/migrations.h"

#include <array>
#include <string>

#include "wb/storage/database.h"
#include "wb/storage/error.h"

namespace wb::storage {

namespace {

// Version 1: models, datasets + examples, the job queue, metrics, logs, adapters.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE models (
  name     TEXT PRIMARY KEY,
  path     TEXT NOT NULL CHECK (path <> ''),
  config   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config) AND json_type(config) = 'object'),
  dtype    TEXT NOT NULL CHECK (dtype <> ''),
  hash     TEXT NOT NULL DEFAULT '',
  created  TEXT NOT NULL
);

CREATE TABLE datasets (
  id             INTEGER PRIMARY KEY,
  name           TEXT NOT NULL UNIQUE,
  kind           TEXT NOT NULL CHECK (kind IN ('sft', 'preference', 'prompt')),
  source         TEXT NOT NULL DEFAULT '',
  eval_fraction  REAL NOT NULL DEFAULT 0 CHECK (eval_fraction >= 0 AND eval_fraction <= 0.5),
  rows           INTEGER NOT NULL DEFAULT 0 CHECK (rows >= 0),
  eval_rows      INTEGER NOT NULL DEFAULT 0 CHECK (eval_rows >= 0 AND eval_rows <= rows),
  created        TEXT NOT NULL
);

-- One row of a dataset: its canonical JSON text (docs/STORAGE.md) and its split.
CREATE TABLE examples (
  dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  row_index   INTEGER NOT NULL CHECK (row_index >= 0),
  split       TEXT NOT NULL CHECK (split IN ('train', 'eval')),
  row         TEXT NOT NULL,
  PRIMARY KEY (dataset_id, row_index)
);
CREATE INDEX examples_by_split ON examples(dataset_id, split, row_index);

CREATE TABLE jobs (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused
  kind              TEXT NOT NULL CHECK (kind <> ''),
  spec              TEXT NOT NULL CHECK (json_valid(spec) AND json_type(spec) = 'object'),
  state             TEXT NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  progress          REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  phase             TEXT NOT NULL DEFAULT '',
  error             TEXT,
  created           TEXT NOT NULL,
  started           TEXT,
  finished          TEXT,
  checkpoint        TEXT,
  attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  cancel_requested  INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  priority          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_queue ON jobs(state, priority DESC, id);

CREATE TABLE metrics (
  id      INTEGER PRIMARY KEY,
  job_id  INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  step    INTEGER NOT NULL,
  name    TEXT NOT NULL CHECK (name <> ''),
  value   REAL NOT NULL
);
CREATE INDEX metrics_by_job_name ON metrics(job_id, name, step);

CREATE TABLE job_logs (
  id       INTEGER PRIMARY KEY,
  job_id   INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  time     TEXT NOT NULL,
  level    TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
  message  TEXT NOT NULL
);
CREATE INDEX job_logs_by_job ON job_logs(job_id, id);

CREATE TABLE adapters (
  name            TEXT PRIMARY KEY,
  path            TEXT NOT NULL CHECK (path <> ''),
  base_model      TEXT NOT NULL CHECK (base_model <> ''),
  job_id          INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
  rank            INTEGER NOT NULL CHECK (rank > 0),
  alpha           REAL NOT NULL CHECK (alpha > 0),
  target_modules  TEXT NOT NULL CHECK (json_valid(target_modules) AND json_type(target_modules) = 'array'),
  kind            TEXT NOT NULL
                  CHECK (kind IN ('policy', 'reward_helpfulness', 'reward_safety', 'value')),
  created         TEXT NOT NULL
);
)sql";

// Version 2: human/model preference labels. Each comparison also appended one preference row to
// its dataset's examples (row_index links them).
constexpr std::string_view kV2 = R"sql(
CREATE TABLE comparisons (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  dataset_id        INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  row_index         INTEGER NOT NULL,
  prompt            TEXT NOT NULL CHECK (prompt <> ''),
  response_a        TEXT NOT NULL CHECK (response_a <> ''),
  response_b        TEXT NOT NULL CHECK (response_b <> ''),
  chosen            TEXT NOT NULL CHECK (chosen IN ('a', 'b')),
  rating            INTEGER NOT NULL CHECK (rating BETWEEN 0 AND 3),
  safety            TEXT NOT NULL CHECK (safety IN ('both_safe', 'chosen_safe', 'both_unsafe')),
  is_safety_prompt  INTEGER NOT NULL CHECK (is_safety_prompt IN (0, 1)),
  annotator         TEXT NOT NULL CHECK (annotator <> ''),
  source            TEXT NOT NULL CHECK (source IN ('human', 'model')),
  model_a           TEXT,
  model_b           TEXT,
  seconds           REAL CHECK (seconds IS NULL OR seconds >= 0),
  created           TEXT NOT NULL
);
CREATE INDEX comparisons_by_dataset ON comparisons(dataset_id, id);
)sql";

// Version 3: one metric point per (job, name, step). A job resumed from a checkpoint repeats the
// steps after it; the repeated point replaces the earlier one (MetricRepository upserts). Points
// already repeated keep the last written.
constexpr std::string_view kV3 = R"sql(
DELETE FROM metrics WHERE id NOT IN (SELECT max(id) FROM metrics GROUP BY job_id, name, step);
DROP INDEX metrics_by_job_name;
CREATE UNIQUE INDEX metrics_one_per_step ON metrics(job_id, name, step);
)sql";

// Version 4: a job can be held for a person (state 'held', reason in `error`): the daemon died
// under it twice in a row, or its checkpoint could not be written (disk full). `crashes` counts
// the runs the daemon died under; `resumed_after_crash` marks a run that resumes after one.
// The table is rebuilt to widen the state CHECK; ids and the AUTOINCREMENT counter are kept.
constexpr std::string_view kV4 = R"sql(
CREATE TABLE jobs_v4 (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused
  kind                 TEXT NOT NULL CHECK (kind <> ''),
  spec                 TEXT NOT NULL CHECK (json_valid(spec) AND json_type(spec) = 'object'),
  state                TEXT NOT NULL DEFAULT 'queued'
                       CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'held')),
  progress             REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  phase                TEXT NOT NULL DEFAULT '',
  error                TEXT,
  created              TEXT NOT NULL,
  started              TEXT,
  finished             TEXT,
  checkpoint           TEXT,
  attempts             INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  cancel_requested     INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  priority             INTEGER NOT NULL DEFAULT 0,
  crashes              INTEGER NOT NULL DEFAULT 0 CHECK (crashes >= 0),
  resumed_after_crash  INTEGER NOT NULL DEFAULT 0 CHECK (resumed_after_crash IN (0, 1))
);
INSERT INTO jobs_v4 (id, kind, spec, state, progress, phase, error, created, started, finished, checkpoint,
                     attempts, cancel_requested, priority)
  SELECT id, kind, spec, state, progress, phase, error, created, started, finished, checkpoint, attempts,
         cancel_requested, priority FROM jobs;
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'jobs') WHERE name = 'jobs_v4';
DROP TABLE jobs;
ALTER TABLE jobs_v4 RENAME TO jobs;
CREATE INDEX jobs_queue ON jobs(state, priority DESC, id);
)sql";

// Version 5: the dataset kind "text" (plain documents for pretraining). SQLite cannot alter a
// CHECK constraint, and rebuilding `datasets` would cascade-delete examples and comparisons (the
// foreign keys cannot be switched off inside the step's transaction), so the constraint's text is
// widened in place as SQLite documents for loosening a constraint (lang_altertable.html,
// "otheralter"): the stored rows already satisfy it. writable_schema = RESET makes this
// connection re-read the schema; other processes open the database only after the migration
// (one daemon per data directory holds the instance lock while it migrates).
constexpr std::string_view kV5 = R"sql(
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (kind IN (''sft'', ''preference'', ''prompt''))',
                                            'CHECK (kind IN (''sft'', ''preference'', ''prompt'', ''text''))')
 WHERE type = 'table' AND name = 'datasets';
PRAGMA writable_schema = RESET;
)sql";

// Version 6: annotators, each with their own bearer token for the web labeling page. Only the
// token's SHA-256 is kept; comparisons name their annotator as text, so removing an annotator
// keeps every label they made.
constexpr std::string_view kV6 = R"sql(
CREATE TABLE annotators (
  name          TEXT PRIMARY KEY CHECK (name <> ''),
  token_sha256  TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
  created       TEXT NOT NULL
);
)sql";

// Version 7: a dataset is written in short transactions while no reader sees it. `state` is
// 'importing' while its rows are written and 'removing' while a deleted or replaced dataset's
// rows are deleted; such a row carries a name no user name can take ('#importing-<id>',
// '#removing-<id>'), and only 'ready' datasets are listed, read or used. Leftovers of a failed
// import or of a crash are removed at start-up and before each import.
constexpr std::string_view kV7 = R"sql(
ALTER TABLE datasets ADD COLUMN state TEXT NOT NULL DEFAULT 'ready'
  CHECK (state IN ('ready', 'importing', 'removing'));
)sql";

// Version 8: the cluster queue's id of a job submitted through Slurm (launcher = "slurm"): the
// latest sbatch of its current run, NULL for a job run on this machine.
constexpr std::string_view kV8 = R"sql(
ALTER TABLE jobs ADD COLUMN slurm_job_id TEXT;
)sql";

constexpr std::array<Migration, 8> kSteps{{
    {1, "models, datasets, examples, jobs, metrics, job_logs, adapters", kV1},
    {2, "comparisons", kV2},
    {3, "one metric point per job, name and step", kV3},
    {4, "held jobs, crash count", kV4, true},
    {5, "dataset kind text", kV5},
    {6, "annotators", kV6},
    {7, "datasets written while hidden (state)", kV7},
    {8, "slurm job id", kV8},
}};

}  // namespace

std::span<const Migration> schema_migrations() { return kSteps; }
int latest_schema_version() { return kSteps.back().version; }

int migrate(Database& db, std::span<const Migration> steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].version != static_cast<int>(i) + 1)
      throw Error("migration list is not numbered 1..N (step " + std::to_string(i + 1) + " says version " +
                  std::to_string(steps[i].version) + ")");
  }
  const int known = static_cast<int>(steps.size());
  auto check = [&](int version) {
    if (version > known)
      throw Error("database '" + db.path().string() + "' has schema version " + std::to_string(version) +
                  ", newer than this build of workbench understands (" + std::to_string(known) +
                  "); upgrade workbench or use another data directory");
    if (version < 0) throw Error("database '" + db.path().string() + "' has a negative schema version");
  };
  int version = db.user_version();
  check(version);
  while (version < known) {
    // PRAGMA foreign_keys is a no-op inside a transaction: switch it before, restore after.
    struct ForeignKeysOff {
      Database* db = nullptr;
      ~ForeignKeysOff() {
        if (db) try { db->exec("PRAGMA foreign_keys = ON"); } catch (...) {}
      }
    } fk_off;
    if (steps[static_cast<std::size_t>(version)].rebuilds_tables) {
      db.exec("PRAGMA foreign_keys = OFF");
      fk_off.db = &db;
    }
    Transaction tx(db);
    // Re-read inside the write lock: another process may have migrated meanwhile.
    int current = db.user_version();
    check(current);
    if (current != version) {
      version = current;
      continue;
    }
    const Migration& step = steps[static_cast<std::size_t>(version)];
    try {
      db.exec(step.sql);
      if (step.rebuilds_tables) {
        auto fk = db.prepare("PRAGMA foreign_key_check");
        if (fk.step()) throw Error("a row refers to a missing " + fk.column_text(2) + " row (table " + fk.column_text(0) + ")");
      }
    } catch (const Error& e) {
      throw Error("schema migration to version " + std::to_string(step.version) + " (" +
                      std::string(step.description) + ") failed: " + e.what(),
                  ErrorCode::Internal, e.sqlite_code());
    }
    db.set_user_version(step.version);
    tx.commit();
    version = step.version;
  }
  return version;
}

int migrate(Database& db) { return migrate(db, schema_migrations()); }

}  // namespace wb::storage
