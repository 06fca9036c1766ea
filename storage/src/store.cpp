#include "wb/storage/store.h"

#include "wb/storage/migrations.h"

namespace wb::storage {

namespace {

Database open_and_migrate(const std::filesystem::path& file, const OpenOptions& options) {
  if (file.has_parent_path() && options.create) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) throw Error("cannot create directory '" + file.parent_path().string() + "': " + ec.message());
  }
  // SQLite takes a zero-length file for an empty database, so a truncated workbench.db would
  // start silently empty: everything stored would seem gone. Refuse it; deleting the file is the
  // way to start afresh.
  std::error_code ec;
  if (options.refuse_empty_file && std::filesystem::is_regular_file(file, ec) && std::filesystem::file_size(file, ec) == 0 && !ec)
    throw Error("database '" + file.string() +
                "' is an empty file (0 bytes), not a workbench database; restore it from a backup, or delete it "
                "to start with an empty database");
  Database db(file, options);
  if (options.quick_check) {
    std::string result;
    try {
      result = db.quick_check();
    } catch (const Error& e) {
      result = e.what();
    }
    if (result != "ok")
      throw Error("database '" + file.string() + "' is damaged (PRAGMA quick_check: " + result.substr(0, 500) +
                  "); restore it from a backup");
  }
  migrate(db);
  return db;
}

}  // namespace

Store::Store(const std::filesystem::path& file, const OpenOptions& options)
    : path_(file),
      conn_(std::make_unique<Connection>(open_and_migrate(file, options))),
      models_(*conn_),
      datasets_(*conn_),
      comparisons_(*conn_),
      jobs_(*conn_),
      metrics_(*conn_),
      adapters_(*conn_),
      annotators_(*conn_) {}

int Store::schema_version() {
  auto lock = conn_->lock();
  return conn_->db().user_version();
}

std::string Store::integrity_check() {
  auto lock = conn_->lock();
  return conn_->db().integrity_check();
}

}  // namespace wb::storage
