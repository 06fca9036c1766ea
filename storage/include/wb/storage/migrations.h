// wb/storage/migrations.h — schema versions keyed by PRAGMA user_version.
//
// The schema is an ordered list of steps; step k (1-based) upgrades a file from user_version k-1
// to k. migrate() applies every step the file lacks, each in its own IMMEDIATE transaction that
// also sets user_version, so a crash leaves the file at a whole version. A brand-new file starts
// at 0 and receives every step. A file whose user_version is greater than the newest step this
// build knows is refused (it was written by a newer workbench): an Error saying so, file untouched.
//
// Rule for editing: never change a released step; append a new one (docs/STORAGE.md).
#pragma once

#include <span>
#include <string_view>

namespace wb::storage {

class Database;

struct Migration {
  int version;                   // the user_version this step produces (1, 2, ...)
  std::string_view description;  // one line, for logs
  std::string_view sql;          // one or more statements
  // The step rebuilds a table others reference (SQLite's way to change a CHECK constraint:
  // create the new table, copy, drop the old, rename). It runs with foreign_keys off, so the
  // drop does not cascade into the referencing rows, and PRAGMA foreign_key_check must find
  // nothing before it commits.
  bool rebuilds_tables = false;
};

// The workbench schema steps, in order (versions 1..latest_schema_version()).
std::span<const Migration> schema_migrations();
int latest_schema_version();

// Brings `db` up to the last step of `steps` (default: the workbench schema). Steps must be
// numbered 1..N without gaps. Returns the version the file now has. Throws Error when the file is
// newer than N, or when a step fails (that step is rolled back; earlier steps stay applied).
int migrate(Database& db, std::span<const Migration> steps);
int migrate(Database& db);

}  // namespace wb::storage
