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
  Database db(file, options);
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
      adapters_(*conn_) {}

int Store::schema_version() {
  auto lock = conn_->lock();
  return conn_->db().user_version();
}

std::string Store::integrity_check() {
  auto lock = conn_->lock();
  return conn_->db().integrity_check();
}

}  // namespace wb::storage
