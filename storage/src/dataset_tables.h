// Internal: statements on `datasets` / `examples` shared by DatasetRepository and
// ComparisonRepository. Every function expects the connection lock held (and, for writes, an
// open transaction).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "wb/storage/database.h"
#include "wb/storage/records.h"

namespace wb::storage::detail {

struct StoredDataset {
  std::int64_t id = 0;
  DatasetRecord record;
};

std::optional<StoredDataset> find_dataset(Database& db, std::string_view name);
StoredDataset require_dataset(Database& db, std::string_view name);  // NotFound

// Inserts an empty dataset row and returns it.
StoredDataset create_dataset(Database& db, std::string_view name, DatasetKind kind, std::string_view source,
                             double eval_fraction);

// Appends one canonical row at the next index (split by the dataset's eval_fraction rule) and
// updates the row counts. Returns the row's index.
std::int64_t append_row(Database& db, const StoredDataset& dataset, std::string_view canonical_row);

}  // namespace wb::storage::detail
