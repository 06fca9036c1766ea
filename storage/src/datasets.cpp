#include "wb/storage/datasets.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "dataset_tables.h"
#include "dataset_writer.h"
#include "wb/storage/connection.h"
#include "wb/storage/dataset_format.h"
#include "wb/storage/error.h"

namespace wb::storage {

namespace {

void validate_options(const ImportOptions& o) {
  validate_name(o.name);
  if (!std::isfinite(o.eval_fraction) || o.eval_fraction < 0 || o.eval_fraction > 0.5)
    throw Invalid("field 'eval_fraction': expected a number 0.0..0.5, got " + nlohmann::json(o.eval_fraction).dump());
  if (o.format != TextFormat::Jsonl && o.kind != DatasetKind::Text)
    throw Invalid("field 'format': plain text (lines, document) imports only as kind text");
}

void check_paging(std::int64_t offset) {
  if (offset < 0) throw Invalid("field 'offset': expected an integer >= 0, got " + std::to_string(offset));
}

// Lines of a text held in memory, as LineSource gives them.
LineSource lines_of(std::string_view text) {
  return [text, pos = std::size_t{0}](std::string_view& line) mutable {
    if (pos >= text.size()) return false;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    line = text.substr(pos, end - pos);
    pos = end + 1;
    return true;
  };
}

}  // namespace

DatasetRecord DatasetRepository::import_lines(const ImportOptions& o, const LineSource& next) {
  validate_options(o);
  if (o.format == TextFormat::Document) {
    // One document: the lines joined again.
    std::string text;
    std::string_view line;
    bool first = true;
    while (next(line)) {
      if (!first) text += '\n';
      text.append(line);
      first = false;
    }
    return import_jsonl(o, text);
  }
  DatasetWriter w(*this, o);
  std::string_view line;
  std::int64_t line_no = 0;
  if (o.format == TextFormat::Jsonl) {
    while (next(line)) w.add(canonical_line(o.kind, line, ++line_no));
    if (line_no == 0) throw InvalidDataset("line 1: no rows (the text is empty)", 1);
  } else {
    while (next(line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) continue;  // paragraphs apart: no document
      w.add(canonical_row(DatasetKind::Text, nlohmann::json{{"text", std::string(line)}}, line_no, "line"));
    }
    if (w.rows() == 0) throw InvalidDataset("line 1: no rows (the text has no non-blank line)", 1);
  }
  return w.publish();
}

DatasetRecord DatasetRepository::import_jsonl(const ImportOptions& options, std::string_view jsonl) {
  validate_options(options);
  if (options.format != TextFormat::Document) return import_lines(options, lines_of(jsonl));
  std::vector<std::string> rows = parse_text(jsonl, TextFormat::Document);  // one row
  DatasetWriter w(*this, options);
  for (auto& r : rows) w.add(std::move(r));
  return w.publish();
}

DatasetRecord DatasetRepository::import_file(const ImportOptions& options, const std::filesystem::path& path) {
  validate_options(options);
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw Invalid("path '" + path.string() + "': no such file");
  if (!std::filesystem::is_regular_file(status)) throw Invalid("path '" + path.string() + "': not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Invalid("path '" + path.string() + "': cannot be read");
  ImportOptions o = options;
  if (o.source.empty()) o.source = path.string();
  std::string buffer;
  DatasetRecord rec = import_lines(o, [&](std::string_view& line) {
    if (!std::getline(in, buffer)) {
      if (in.bad()) throw Invalid("path '" + path.string() + "': read error");
      return false;
    }
    line = buffer;
    return true;
  });
  return rec;
}

DatasetRecord DatasetRepository::import_rows(const ImportOptions& options, const nlohmann::json& rows) {
  validate_options(options);
  if (!rows.is_array()) throw Invalid("field 'rows': expected an array of row objects");
  if (rows.empty()) throw Invalid("field 'rows': must not be empty");
  DatasetWriter w(*this, options);
  for (std::size_t i = 0; i < rows.size(); ++i)
    w.add(canonical_row(options.kind, rows[i], static_cast<std::int64_t>(i) + 1, "row"));
  return w.publish();
}

DatasetRecord DatasetRepository::get(std::string_view name) {
  auto lock = conn_.lock();
  return detail::require_dataset(conn_.db(), name).record;
}

std::optional<DatasetRecord> DatasetRepository::find(std::string_view name) {
  auto lock = conn_.lock();
  auto d = detail::find_dataset(conn_.db(), name);
  if (!d) return std::nullopt;
  return d->record;
}

std::vector<DatasetRecord> DatasetRepository::list() {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  std::vector<std::string> names;
  {
    auto st = db.prepare("SELECT name FROM datasets WHERE state = 'ready' ORDER BY name");
    while (st.step()) names.push_back(st.column_text(0));
  }
  std::vector<DatasetRecord> out;
  for (const auto& n : names) out.push_back(detail::require_dataset(db, n).record);
  return out;
}

void DatasetRepository::remove(std::string_view name) {
  std::int64_t id = 0;
  {
    auto lock = conn_.lock();
    Database& db = conn_.db();
    Transaction tx(db);
    auto d = detail::find_dataset(db, name);
    if (!d) throw NotFound("dataset '" + std::string(name) + "' not found");
    db.prepare("UPDATE datasets SET state = 'removing', name = '#removing-' || id WHERE id = ?1").bind(1, d->id).run();
    claim(d->id);
    try {
      tx.commit();
    } catch (...) {
      release(d->id);
      throw;
    }
    id = d->id;
  }
  try {
    delete_hidden(id);
  } catch (...) {
    // Gone for every reader already; what is left is deleted by remove_unfinished().
  }
  release(id);
}

void DatasetRepository::delete_hidden(std::int64_t id) {
  for (;;) {
    {
      auto lock = conn_.lock();
      Database& db = conn_.db();
      Transaction tx(db);
      auto comparisons =
          db.prepare("DELETE FROM comparisons WHERE id IN (SELECT id FROM comparisons WHERE dataset_id = ?1 LIMIT 256)");
      auto examples = db.prepare(
          "DELETE FROM examples WHERE rowid IN (SELECT rowid FROM examples WHERE dataset_id = ?1 LIMIT 256)");
      comparisons.bind(1, id);
      examples.bind(1, id);
      const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWriteSliceMs);
      bool finished = false;
      do {
        comparisons.run();
        comparisons.reset();
        if (db.changes() > 0) continue;
        examples.run();
        examples.reset();
        if (db.changes() > 0) continue;
        db.prepare("DELETE FROM datasets WHERE id = ?1 AND state <> 'ready'").bind(1, id).run();
        finished = true;
      } while (!finished && std::chrono::steady_clock::now() < end);
      tx.commit();
      if (finished) return;
    }
    std::this_thread::yield();  // let a waiting thread take the connection
  }
}

std::int64_t DatasetRepository::remove_unfinished() {
  std::vector<std::int64_t> ids;
  {
    auto lock = conn_.lock();
    auto st = conn_.db().prepare("SELECT id FROM datasets WHERE state <> 'ready' ORDER BY id");
    std::lock_guard<std::mutex> busy(busy_mutex_);
    while (st.step()) {
      const std::int64_t id = st.column_int64(0);
      if (busy_.insert(id).second) ids.push_back(id);  // claimed: not written or deleted by another thread
    }
  }
  std::size_t i = 0;
  try {
    for (; i < ids.size(); ++i) {
      delete_hidden(ids[i]);
      release(ids[i]);
    }
  } catch (...) {
    for (; i < ids.size(); ++i) release(ids[i]);
    throw;
  }
  return static_cast<std::int64_t>(ids.size());
}

void DatasetRepository::claim(std::int64_t id) {
  std::lock_guard<std::mutex> busy(busy_mutex_);
  busy_.insert(id);
}

void DatasetRepository::release(std::int64_t id) {
  std::lock_guard<std::mutex> busy(busy_mutex_);
  busy_.erase(id);
}

std::int64_t DatasetRepository::count() {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare("SELECT count(*) FROM datasets WHERE state = 'ready'");
  st.step();
  return st.column_int64(0);
}

RowsPage DatasetRepository::rows(std::string_view name, std::int64_t offset, std::int64_t limit,
                                 std::optional<Split> split) {
  check_paging(offset);
  auto lock = conn_.lock();
  Database& db = conn_.db();
  auto d = detail::require_dataset(db, name);
  RowsPage page;
  page.total = !split ? d.record.rows : (*split == Split::Eval ? d.record.eval_rows : d.record.train_rows);
  auto st = db.prepare(
      "SELECT row_index, split, row FROM examples WHERE dataset_id = ?1 AND (?2 IS NULL OR split = ?2) "
      "ORDER BY row_index LIMIT ?3 OFFSET ?4");
  st.bind(1, d.id);
  if (split) st.bind(2, to_string(*split)); else st.bind(2, nullptr);
  st.bind(3, limit > 0 ? limit : std::int64_t{-1}).bind(4, offset);
  while (st.step()) {
    ExampleRow r;
    r.index = st.column_int64(0);
    r.split = parse_split(st.column_text(1)).value_or(Split::Train);
    r.row_json = st.column_text(2);
    page.rows.push_back(std::move(r));
  }
  return page;
}

std::int64_t DatasetRepository::for_each_row(std::string_view name, std::optional<Split> split, std::int64_t offset,
                                             std::int64_t limit, const std::function<bool(const ExampleRow&)>& fn) {
  check_paging(offset);
  // Read a page at a time, each under the lock for a short while, and hand the page to `fn`
  // without it: a long read never holds up a job's state change.
  constexpr std::int64_t kPageRows = 1000;
  std::int64_t id = 0, after = -1, delivered = 0;
  std::vector<ExampleRow> page;
  for (bool first = true;; first = false) {
    page.clear();
    {
      auto lock = conn_.lock();
      Database& db = conn_.db();
      if (first) {
        id = detail::require_dataset(db, name).id;
      } else {
        auto ready = db.prepare("SELECT 1 FROM datasets WHERE id = ?1 AND state = 'ready'");
        if (!ready.bind(1, id).step())
          throw Conflict("dataset '" + std::string(name) + "' was deleted or replaced while it was read; read it again");
      }
      const std::int64_t want = limit > 0 ? std::min(kPageRows, limit - delivered) : kPageRows;
      auto st = db.prepare(
          "SELECT row_index, split, row FROM examples WHERE dataset_id = ?1 AND (?2 IS NULL OR split = ?2) "
          "AND row_index > ?5 ORDER BY row_index LIMIT ?3 OFFSET ?4");
      st.bind(1, id);
      if (split) st.bind(2, to_string(*split)); else st.bind(2, nullptr);
      st.bind(3, want).bind(4, first ? offset : std::int64_t{0}).bind(5, after);
      while (st.step()) {
        ExampleRow r;
        r.index = st.column_int64(0);
        r.split = parse_split(st.column_text(1)).value_or(Split::Train);
        r.row_json = st.column_text(2);
        page.push_back(std::move(r));
      }
    }
    if (page.empty()) return delivered;
    for (const ExampleRow& r : page) {
      ++delivered;
      if (!fn(r)) return delivered;
    }
    if (limit > 0 && delivered >= limit) return delivered;
    after = page.back().index;
  }
}

void DatasetRepository::export_jsonl(std::string_view name, std::ostream& out) {
  for_each_row(name, std::nullopt, 0, 0, [&](const ExampleRow& r) {
    out << r.row_json << '\n';
    return true;
  });
}

std::string DatasetRepository::export_jsonl(std::string_view name) {
  std::ostringstream out;
  export_jsonl(name, out);
  return std::move(out).str();
}

}  // namespace wb::storage
