// Internal: writes one imported dataset in short transactions while it is hidden (state
// 'importing'), then publishes it under its name in one short transaction. See datasets.h.
//
//   DatasetWriter w(repo, options);      // creates the hidden dataset record
//   w.add(canonical_row); ...            // buffered; written a batch at a time
//   DatasetRecord rec = w.publish();     // Conflict when the name exists and !options.replace
//
// Destroyed without a successful publish(), it deletes what it wrote (short transactions); when
// that fails too, the hidden dataset stays for DatasetRepository::remove_unfinished().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "wb/storage/datasets.h"

namespace wb::storage {

class DatasetWriter {
 public:
  DatasetWriter(DatasetRepository& repo, const ImportOptions& options);
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  void add(std::string canonical_row);
  DatasetRecord publish();
  std::int64_t rows() const noexcept { return next_index_ + static_cast<std::int64_t>(pending_.size()); }

 private:
  void flush();

  DatasetRepository& repo_;
  ImportOptions options_;
  std::int64_t id_ = 0;
  std::int64_t next_index_ = 0;  // rows written so far
  std::int64_t eval_rows_ = 0;
  std::vector<std::string> pending_;
  std::size_t pending_bytes_ = 0;
  bool published_ = false;
};

// How long one write transaction of an import or a removal may hold the connection.
inline constexpr int kWriteSliceMs = 10;

}  // namespace wb::storage
