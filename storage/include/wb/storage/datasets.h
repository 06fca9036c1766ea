// wb/storage/datasets.h — datasets and their rows (tables `datasets`, `examples`). Thread-safe.
//
// An import validates every line first (dataset_format.h), then writes the dataset record and all
// its rows in ONE transaction: a bad line rejects the whole file with InvalidDataset and leaves
// every table as it was. replace=true swaps an existing dataset for the new rows in that same
// transaction (readers see the old or the new dataset, never a mix; the old dataset's comparisons
// go with it). Rows keep their canonical text; export() writes them back byte for byte.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "wb/storage/dataset_format.h"
#include "wb/storage/records.h"

namespace wb::storage {

class Connection;

struct ImportOptions {
  std::string name;            // validate_name() rules
  DatasetKind kind = DatasetKind::Sft;
  std::string source;          // file path or free label (may be empty)
  double eval_fraction = 0.0;  // 0.0..0.5; rows whose index hashes below it go to split eval
  bool replace = false;        // replace an existing dataset of that name instead of Conflict
  TextFormat format = TextFormat::Jsonl;  // Lines / Document: plain text, kind text only
};

class DatasetRepository {
 public:
  explicit DatasetRepository(Connection& conn) : conn_(conn) {}

  // Imports a whole JSONL text. Throws InvalidDataset (a bad line), Invalid (bad options) or
  // Conflict (name exists and !replace). Returns the stored record.
  DatasetRecord import_jsonl(const ImportOptions& options, std::string_view jsonl);
  // Reads the file at `path` and imports it; source defaults to the path when empty.
  // A missing/unreadable file throws Invalid naming the path.
  DatasetRecord import_file(const ImportOptions& options, const std::filesystem::path& path);
  // Imports already-parsed rows (the host's register_artifact {"name","kind","rows":[...]});
  // errors say "row N: ..." (1-based).
  DatasetRecord import_rows(const ImportOptions& options, const nlohmann::json& rows);

  DatasetRecord get(std::string_view name);  // NotFound
  std::optional<DatasetRecord> find(std::string_view name);
  std::vector<DatasetRecord> list();         // by name
  void remove(std::string_view name);        // NotFound; deletes its rows and comparisons too
  std::int64_t count();

  // Rows in index order, optionally of one split. limit <= 0 means no limit.
  RowsPage rows(std::string_view name, std::int64_t offset, std::int64_t limit,
                std::optional<Split> split = std::nullopt);
  // Streams rows in index order to `fn` (return false to stop). The lock is held while it runs,
  // so `fn` must not call back into the Store. Returns how many rows were delivered.
  std::int64_t for_each_row(std::string_view name, std::optional<Split> split, std::int64_t offset,
                            std::int64_t limit, const std::function<bool(const ExampleRow&)>& fn);

  // Canonical JSONL of every row (both splits) in index order, "\n" after each line.
  std::string export_jsonl(std::string_view name);
  void export_jsonl(std::string_view name, std::ostream& out);

 private:
  DatasetRecord store_rows(const ImportOptions& options, const std::vector<std::string>& rows);
  Connection& conn_;
};

}  // namespace wb::storage
