#include "wb/storage/datasets.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "dataset_tables.h"
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

}  // namespace

DatasetRecord DatasetRepository::store_rows(const ImportOptions& o, const std::vector<std::string>& rows) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  if (auto existing = detail::find_dataset(db, o.name)) {
    if (!o.replace) throw Conflict("dataset '" + o.name + "' already exists");
    auto del = db.prepare("DELETE FROM datasets WHERE id = ?1");
    del.bind(1, existing->id).run();
  }
  auto dataset = detail::create_dataset(db, o.name, o.kind, o.source, o.eval_fraction);
  auto ins = db.prepare("INSERT INTO examples (dataset_id, row_index, split, row) VALUES (?1, ?2, ?3, ?4)");
  std::int64_t eval_rows = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto index = static_cast<std::int64_t>(i);
    const Split split = split_for_index(index, o.eval_fraction);
    eval_rows += split == Split::Eval;
    ins.bind(1, dataset.id).bind(2, index).bind(3, to_string(split)).bind(4, rows[i]);
    ins.run();
    ins.reset();
  }
  auto upd = db.prepare("UPDATE datasets SET rows = ?2, eval_rows = ?3 WHERE id = ?1");
  upd.bind(1, dataset.id).bind(2, static_cast<std::int64_t>(rows.size())).bind(3, eval_rows).run();
  auto record = detail::require_dataset(db, o.name).record;
  tx.commit();
  return record;
}

DatasetRecord DatasetRepository::import_jsonl(const ImportOptions& options, std::string_view jsonl) {
  validate_options(options);
  // Validate every line before taking the lock: a large import blocks other threads only while
  // its rows are written.
  std::vector<std::string> rows =
      options.format == TextFormat::Jsonl ? parse_jsonl(options.kind, jsonl) : parse_text(jsonl, options.format);
  return store_rows(options, rows);
}

DatasetRecord DatasetRepository::import_file(const ImportOptions& options, const std::filesystem::path& path) {
  validate_options(options);
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw Invalid("path '" + path.string() + "': no such file");
  if (!std::filesystem::is_regular_file(status)) throw Invalid("path '" + path.string() + "': not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Invalid("path '" + path.string() + "': cannot be read");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Invalid("path '" + path.string() + "': read error");
  ImportOptions o = options;
  if (o.source.empty()) o.source = path.string();
  std::string text = std::move(buffer).str();
  std::vector<std::string> rows = o.format == TextFormat::Jsonl ? parse_jsonl(o.kind, text) : parse_text(text, o.format);
  return store_rows(o, rows);
}

DatasetRecord DatasetRepository::import_rows(const ImportOptions& options, const nlohmann::json& rows) {
  validate_options(options);
  if (!rows.is_array()) throw Invalid("field 'rows': expected an array of row objects");
  if (rows.empty()) throw Invalid("field 'rows': must not be empty");
  std::vector<std::string> canonical;
  canonical.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    canonical.push_back(canonical_row(options.kind, rows[i], static_cast<std::int64_t>(i) + 1, "row"));
  return store_rows(options, canonical);
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
    auto st = db.prepare("SELECT name FROM datasets ORDER BY name");
    while (st.step()) names.push_back(st.column_text(0));
  }
  std::vector<DatasetRecord> out;
  for (const auto& n : names) out.push_back(detail::require_dataset(db, n).record);
  return out;
}

void DatasetRepository::remove(std::string_view name) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  auto st = db.prepare("DELETE FROM datasets WHERE name = ?1");
  st.bind(1, name).run();
  if (db.changes() == 0) throw NotFound("dataset '" + std::string(name) + "' not found");
  tx.commit();
}

std::int64_t DatasetRepository::count() {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare("SELECT count(*) FROM datasets");
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
  auto lock = conn_.lock();
  Database& db = conn_.db();
  auto d = detail::require_dataset(db, name);
  auto st = db.prepare(
      "SELECT row_index, split, row FROM examples WHERE dataset_id = ?1 AND (?2 IS NULL OR split = ?2) "
      "ORDER BY row_index LIMIT ?3 OFFSET ?4");
  st.bind(1, d.id);
  if (split) st.bind(2, to_string(*split)); else st.bind(2, nullptr);
  st.bind(3, limit > 0 ? limit : std::int64_t{-1}).bind(4, offset);
  std::int64_t delivered = 0;
  ExampleRow r;
  while (st.step()) {
    r.index = st.column_int64(0);
    r.split = parse_split(st.column_text(1)).value_or(Split::Train);
    r.row_json = st.column_text(2);
    ++delivered;
    if (!fn(r)) break;
  }
  return delivered;
}

void DatasetRepository::export_jsonl(std::string_view name, std::ostream& out) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  auto d = detail::require_dataset(db, name);
  auto st = db.prepare("SELECT row FROM examples WHERE dataset_id = ?1 ORDER BY row_index");
  st.bind(1, d.id);
  while (st.step()) {
    out << st.column_text(0) << '\n';
  }
}

std::string DatasetRepository::export_jsonl(std::string_view name) {
  std::ostringstream out;
  export_jsonl(name, out);
  return std::move(out).str();
}

}  // namespace wb::storage
