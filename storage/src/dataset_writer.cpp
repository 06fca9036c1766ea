#include "dataset_writer.h"

#include <chrono>
#include <optional>
#include <thread>

#include "dataset_tables.h"
#include "wb/storage/connection.h"
#include "wb/storage/dataset_format.h"
#include "wb/storage/error.h"

namespace wb::storage {

namespace {

// A batch is written once it holds this many rows or bytes: small enough that writing it takes
// about one slice, so other threads get the connection between batches while the next one is
// parsed.
constexpr std::size_t kBatchRows = 1000;
constexpr std::size_t kBatchBytes = 256 * 1024;

std::chrono::steady_clock::time_point slice_end() {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(kWriteSliceMs);
}

}  // namespace

DatasetWriter::DatasetWriter(DatasetRepository& repo, const ImportOptions& options) : repo_(repo), options_(options) {
  auto lock = repo_.conn_.lock();
  Database& db = repo_.conn_.db();
  Transaction tx(db);
  if (!options_.replace && detail::find_dataset(db, options_.name))
    throw Conflict("dataset '" + options_.name + "' already exists");
  auto ins = db.prepare(
      "INSERT INTO datasets (name, kind, source, eval_fraction, rows, eval_rows, created, state) "
      "VALUES ('#importing', ?1, ?2, ?3, 0, 0, ?4, 'importing')");
  ins.bind(1, to_string(options_.kind)).bind(2, options_.source).bind(3, options_.eval_fraction).bind(4, now_iso8601());
  ins.run();
  const std::int64_t id = db.last_insert_rowid();
  db.prepare("UPDATE datasets SET name = '#importing-' || id WHERE id = ?1").bind(1, id).run();
  // Claimed before the commit, under the connection lock: remove_unfinished() never sees it unclaimed.
  repo_.claim(id);
  try {
    tx.commit();
  } catch (...) {
    repo_.release(id);
    throw;
  }
  id_ = id;
}

DatasetWriter::~DatasetWriter() {
  if (published_ || id_ == 0) return;
  try {
    repo_.delete_hidden(id_);
  } catch (...) {
    // The disk may still be full: the hidden rows stay for remove_unfinished().
  }
  repo_.release(id_);
}

void DatasetWriter::add(std::string canonical_row) {
  pending_bytes_ += canonical_row.size();
  pending_.push_back(std::move(canonical_row));
  if (pending_.size() >= kBatchRows || pending_bytes_ >= kBatchBytes) flush();
}

void DatasetWriter::flush() {
  std::size_t done = 0;
  while (done < pending_.size()) {
    {
      auto lock = repo_.conn_.lock();
      Database& db = repo_.conn_.db();
      Transaction tx(db);
      auto ins = db.prepare("INSERT INTO examples (dataset_id, row_index, split, row) VALUES (?1, ?2, ?3, ?4)");
      const auto end = slice_end();
      std::size_t n = 0;
      std::int64_t eval = 0;
      do {
        const std::int64_t index = next_index_ + static_cast<std::int64_t>(n);
        const Split split = split_for_index(index, options_.eval_fraction);
        eval += split == Split::Eval;
        ins.bind(1, id_).bind(2, index).bind(3, to_string(split)).bind(4, pending_[done + n]);
        ins.run();
        ins.reset();
        ++n;
      } while (done + n < pending_.size() && (n % 16 != 0 || std::chrono::steady_clock::now() < end));
      tx.commit();
      next_index_ += static_cast<std::int64_t>(n);
      eval_rows_ += eval;
      done += n;
    }
    if (done < pending_.size()) std::this_thread::yield();  // let a waiting thread take the connection
  }
  pending_.clear();
  pending_bytes_ = 0;
}

DatasetRecord DatasetWriter::publish() {
  flush();
  std::optional<std::int64_t> replaced;
  DatasetRecord record;
  {
    auto lock = repo_.conn_.lock();
    Database& db = repo_.conn_.db();
    Transaction tx(db);
    if (auto existing = detail::find_dataset(db, options_.name)) {
      if (!options_.replace) throw Conflict("dataset '" + options_.name + "' already exists");
      db.prepare("UPDATE datasets SET state = 'removing', name = '#removing-' || id WHERE id = ?1")
          .bind(1, existing->id)
          .run();
      replaced = existing->id;
    }
    auto upd = db.prepare("UPDATE datasets SET name = ?2, state = 'ready', rows = ?3, eval_rows = ?4 WHERE id = ?1");
    upd.bind(1, id_).bind(2, options_.name).bind(3, next_index_).bind(4, eval_rows_).run();
    record = detail::require_dataset(db, options_.name).record;
    if (replaced) repo_.claim(*replaced);
    try {
      tx.commit();
    } catch (...) {
      if (replaced) repo_.release(*replaced);
      throw;
    }
    published_ = true;
    repo_.release(id_);
  }
  if (replaced) {
    try {
      repo_.delete_hidden(*replaced);
    } catch (...) {
      // Left hidden for remove_unfinished(); the new dataset is in place either way.
    }
    repo_.release(*replaced);
  }
  return record;
}

}  // namespace wb::storage
