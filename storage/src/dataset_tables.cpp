#include "dataset_tables.h"

#include "wb/storage/dataset_format.h"
#include "wb/storage/error.h"

namespace wb::storage::detail {

std::optional<StoredDataset> find_dataset(Database& db, std::string_view name) {
  auto st = db.prepare(
      "SELECT id, name, kind, source, eval_fraction, rows, eval_rows, created FROM datasets WHERE name = ?1 AND state = 'ready'");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  StoredDataset d;
  d.id = st.column_int64(0);
  d.record.name = st.column_text(1);
  d.record.kind = parse_dataset_kind(st.column_text(2)).value_or(DatasetKind::Sft);
  d.record.source = st.column_text(3);
  d.record.eval_fraction = st.column_double(4);
  d.record.rows = st.column_int64(5);
  d.record.eval_rows = st.column_int64(6);
  d.record.train_rows = d.record.rows - d.record.eval_rows;
  d.record.created = st.column_text(7);
  return d;
}

StoredDataset require_dataset(Database& db, std::string_view name) {
  auto d = find_dataset(db, name);
  if (!d) throw NotFound("dataset '" + std::string(name) + "' not found");
  return *d;
}

StoredDataset create_dataset(Database& db, std::string_view name, DatasetKind kind, std::string_view source,
                             double eval_fraction) {
  auto st = db.prepare(
      "INSERT INTO datasets (name, kind, source, eval_fraction, rows, eval_rows, created) "
      "VALUES (?1, ?2, ?3, ?4, 0, 0, ?5)");
  st.bind(1, name).bind(2, to_string(kind)).bind(3, source).bind(4, eval_fraction).bind(5, now_iso8601());
  st.run();
  return require_dataset(db, name);
}

std::int64_t append_row(Database& db, const StoredDataset& dataset, std::string_view canonical_row) {
  auto next = db.prepare("SELECT coalesce(max(row_index) + 1, 0) FROM examples WHERE dataset_id = ?1");
  next.bind(1, dataset.id);
  next.step();
  const std::int64_t index = next.column_int64(0);
  const Split split = split_for_index(index, dataset.record.eval_fraction);
  auto ins = db.prepare("INSERT INTO examples (dataset_id, row_index, split, row) VALUES (?1, ?2, ?3, ?4)");
  ins.bind(1, dataset.id).bind(2, index).bind(3, to_string(split)).bind(4, canonical_row).run();
  auto upd = db.prepare("UPDATE datasets SET rows = rows + 1, eval_rows = eval_rows + ?2 WHERE id = ?1");
  upd.bind(1, dataset.id).bind(2, split == Split::Eval ? 1 : 0).run();
  return index;
}

}  // namespace wb::storage::detail
