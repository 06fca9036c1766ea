#include "wb/storage/models.h"

#include "json_fields.h"
#include "wb/json/reader.h"
#include "wb/storage/connection.h"
#include "wb/storage/error.h"

namespace wb::storage {

namespace {

constexpr const char* kColumns = "SELECT name, path, config, dtype, hash, created FROM models";

ModelRecord read_model(const Statement& st) {
  ModelRecord r;
  r.name = st.column_text(0);
  r.path = st.column_text(1);
  r.config = nlohmann::json::parse(st.column_text(2));
  r.dtype = st.column_text(3);
  r.hash = st.column_text(4);
  r.created = st.column_text(5);
  return r;
}

std::optional<ModelRecord> find_locked(Database& db, std::string_view name) {
  auto st = db.prepare(std::string(kColumns) + " WHERE name = ?1");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_model(st);
}

}  // namespace

NewModel ModelRepository::parse(const nlohmann::json& j) {
  try {
    JsonReader r(j, "", NullIs::value);
    r.allow_only({"name", "path", "config", "dtype", "hash"});
    NewModel m;
    m.name = r.string("name");
    m.path = r.string("path");
    if (const auto* config = r.find("config")) {
      if (!config->is_object()) r.fail("config", "expected an object, got " + describe_json(*config));
      m.config = *config;
    }
    m.dtype = r.string("dtype");
    m.hash = r.optional_string("hash", true).value_or("");
    return m;
  } catch (const JsonFieldError& p) {
    throw Invalid(p.what());
  }
}

ModelRecord ModelRepository::add(const NewModel& m) {
  validate_name(m.name);
  if (m.path.empty()) throw Invalid("field 'path': must not be empty");
  if (m.dtype.empty()) throw Invalid("field 'dtype': must not be empty");
  if (!m.config.is_object()) throw Invalid("field 'config': expected an object, got " + describe_json(m.config));
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  if (find_locked(db, m.name)) throw Conflict("model '" + m.name + "' already exists");
  auto st = db.prepare("INSERT INTO models (name, path, config, dtype, hash, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.bind(1, m.name).bind(2, m.path).bind(3, m.config.dump()).bind(4, m.dtype).bind(5, m.hash).bind(6, now_iso8601());
  st.run();
  auto record = find_locked(db, m.name);
  tx.commit();
  return *record;
}

ModelRecord ModelRepository::get(std::string_view name) {
  auto r = find(name);
  if (!r) throw NotFound("model '" + std::string(name) + "' not found");
  return *r;
}

std::optional<ModelRecord> ModelRepository::find(std::string_view name) {
  auto lock = conn_.lock();
  return find_locked(conn_.db(), name);
}

std::vector<ModelRecord> ModelRepository::list() {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare(std::string(kColumns) + " ORDER BY name");
  std::vector<ModelRecord> out;
  while (st.step()) out.push_back(read_model(st));
  return out;
}

void ModelRepository::remove(std::string_view name) {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare("DELETE FROM models WHERE name = ?1");
  st.bind(1, name).run();
  if (conn_.db().changes() == 0) throw NotFound("model '" + std::string(name) + "' not found");
}

std::int64_t ModelRepository::count() {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare("SELECT count(*) FROM models");
  st.step();
  return st.column_int64(0);
}

}  // namespace wb::storage
