// wb/storage/datasets.h — datasets and their rows (tables `datasets`, `examples`). Thread-safe.
//
// An import streams: lines are validated and canonicalised one at a time and written in short
// transactions (each holds the connection for about 10 ms), so the job queue and every other
// request keep moving during a large import. While its rows are written the dataset is in state
// `importing` under a name no reader asks for: listings, gets, jobs and exports never see it.
// One final short transaction makes it visible under its name, so readers see all of its rows or
// none. A bad line, a name conflict or a full disk fails the import; its rows are then deleted in
// short transactions, and whatever a failure leaves (the disk still full, a crash) is removed by
// remove_unfinished(), which the daemon runs at start-up and before each import. Nothing stored
// before an import is touched by it. replace=true swaps an existing dataset for the new one in
// that final transaction (readers see the old or the new dataset, never a mix; the old one's
// rows and comparisons are deleted afterwards in short transactions, as remove() does).
// Rows keep their canonical text; export() writes them back byte for byte.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
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

// Reads an import's text one line at a time: sets `line` (without its '\n') and returns true,
// or returns false at the end. A final '\n' starts no new line. `line` stays valid until the next
// call.
using LineSource = std::function<bool(std::string_view& line)>;

class DatasetRepository {
 public:
  explicit DatasetRepository(Connection& conn) : conn_(conn) {}

  // Imports a whole JSONL text. Throws InvalidDataset (a bad line), Invalid (bad options) or
  // Conflict (name exists and !replace). Returns the stored record.
  DatasetRecord import_jsonl(const ImportOptions& options, std::string_view jsonl);
  // Imports the lines `next` gives (JSONL, or plain text by options.format), never holding more
  // than a batch of rows in memory. Errors as import_jsonl.
  DatasetRecord import_lines(const ImportOptions& options, const LineSource& next);
  // Reads the file at `path` line by line and imports it; source defaults to the path when empty.
  // A missing/unreadable file throws Invalid naming the path.
  DatasetRecord import_file(const ImportOptions& options, const std::filesystem::path& path);
  // Imports already-parsed rows (the host's register_artifact {"name","kind","rows":[...]});
  // errors say "row N: ..." (1-based).
  DatasetRecord import_rows(const ImportOptions& options, const nlohmann::json& rows);

  DatasetRecord get(std::string_view name);  // NotFound
  std::optional<DatasetRecord> find(std::string_view name);
  std::vector<DatasetRecord> list();         // by name
  // NotFound. The dataset disappears at once (one short transaction); its rows and comparisons
  // are then deleted in short transactions.
  void remove(std::string_view name);
  // Deletes every dataset an import or a removal left unfinished (a failure whose clean-up failed
  // too, or a crash), except those this process is writing now. Returns how many; throws Error
  // when the disk is still too full to delete them (they stay hidden and are tried again).
  std::int64_t remove_unfinished();
  std::int64_t count();

  // Rows in index order, optionally of one split. limit <= 0 means no limit.
  RowsPage rows(std::string_view name, std::int64_t offset, std::int64_t limit,
                std::optional<Split> split = std::nullopt);
  // Streams rows in index order to `fn` (return false to stop), reading a page of rows at a time
  // under the lock and calling `fn` without it (it may call into the Store). Rows appended
  // meanwhile (comparisons) may be included; a dataset deleted or replaced meanwhile throws
  // Conflict. Returns how many rows were delivered.
  std::int64_t for_each_row(std::string_view name, std::optional<Split> split, std::int64_t offset,
                            std::int64_t limit, const std::function<bool(const ExampleRow&)>& fn);

  // Canonical JSONL of every row (both splits) in index order, "\n" after each line; read page by
  // page as for_each_row().
  std::string export_jsonl(std::string_view name);
  void export_jsonl(std::string_view name, std::ostream& out);

 private:
  friend class DatasetWriter;
  // Deletes a hidden dataset's rows, comparisons and record in short transactions.
  void delete_hidden(std::int64_t id);
  // Hidden datasets this process is writing or deleting now (remove_unfinished leaves them).
  void claim(std::int64_t id);
  void release(std::int64_t id);

  Connection& conn_;
  std::mutex busy_mutex_;
  std::set<std::int64_t> busy_;
};

}  // namespace wb::storage
