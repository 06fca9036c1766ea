// wb/storage/store.h — the storage facade the daemon owns.
//
//   wb::storage::Store store(data_dir / "workbench.db");   // opens or creates, then migrates
//   auto job = store.jobs().create("sft", spec);
//   auto next = store.jobs().claim_next();
//
// One SQLite connection (WAL, foreign keys on) guarded by one mutex; every repository method
// takes that mutex, so all of them may be called from any number of threads. Opening a file
// written by a newer workbench (higher schema version) throws Error and leaves it untouched.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "wb/storage/adapters.h"
#include "wb/storage/annotators.h"
#include "wb/storage/comparisons.h"
#include "wb/storage/connection.h"
#include "wb/storage/dataset_format.h"
#include "wb/storage/datasets.h"
#include "wb/storage/error.h"
#include "wb/storage/jobs.h"
#include "wb/storage/metrics.h"
#include "wb/storage/models.h"
#include "wb/storage/records.h"

namespace wb::storage {

class Store {
 public:
  // Creates parent directories of `file` when missing.
  explicit Store(const std::filesystem::path& file, const OpenOptions& options = {});
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  ModelRepository& models() noexcept { return models_; }
  DatasetRepository& datasets() noexcept { return datasets_; }
  ComparisonRepository& comparisons() noexcept { return comparisons_; }
  JobRepository& jobs() noexcept { return jobs_; }
  MetricRepository& metrics() noexcept { return metrics_; }
  AdapterRepository& adapters() noexcept { return adapters_; }
  AnnotatorRepository& annotators() noexcept { return annotators_; }

  const std::filesystem::path& path() const noexcept { return path_; }
  int schema_version();
  std::string integrity_check();  // "ok" when healthy

  // Raw access for tests and one-off maintenance: hold the returned lock while using db().
  Connection& connection() noexcept { return *conn_; }

 private:
  std::filesystem::path path_;
  std::unique_ptr<Connection> conn_;
  ModelRepository models_;
  DatasetRepository datasets_;
  ComparisonRepository comparisons_;
  JobRepository jobs_;
  MetricRepository metrics_;
  AdapterRepository adapters_;
  AnnotatorRepository annotators_;
};

}  // namespace wb::storage
