#include "wb/storage/adapters.h"

#include <cmath>
#include <limits>

#include "json_fields.h"
#include "wb/json/reader.h"
#include "wb/storage/connection.h"
#include "wb/storage/error.h"

namespace wb::storage {

namespace {

constexpr const char* kColumns =
    "SELECT name, path, base_model, job_id, rank, alpha, target_modules, kind, created FROM adapters";

AdapterRecord read_adapter(const Statement& st) {
  AdapterRecord r;
  r.name = st.column_text(0);
  r.path = st.column_text(1);
  r.base_model = st.column_text(2);
  r.job = st.column_optional_int64(3);
  r.rank = static_cast<int>(st.column_int64(4));
  r.alpha = st.column_double(5);
  r.target_modules = nlohmann::json::parse(st.column_text(6)).get<std::vector<std::string>>();
  r.kind = parse_adapter_kind(st.column_text(7)).value_or(AdapterKind::Policy);
  r.created = st.column_text(8);
  return r;
}

std::optional<AdapterRecord> find_locked(Database& db, std::string_view name) {
  auto st = db.prepare(std::string(kColumns) + " WHERE name = ?1");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_adapter(st);
}

}  // namespace

NewAdapter AdapterRepository::parse(const nlohmann::json& j) {
  try {
    JsonReader r(j, "", NullIs::value);
    r.allow_only({"name", "path", "base_model", "job", "rank", "alpha", "target_modules", "kind"});
    NewAdapter a;
    a.name = r.string("name");
    a.path = r.string("path");
    a.base_model = r.string("base_model");
    if (const auto* job = r.find("job"); job && !job->is_null())
      a.job = r.integer("job", 1, std::numeric_limits<std::int64_t>::max());
    a.rank = static_cast<int>(r.integer("rank", 1, 1 << 20));
    a.alpha = r.number("alpha", 0, std::numeric_limits<double>::max());
    if (a.alpha == 0) r.fail("alpha", "expected a number > 0, got 0");
    const nlohmann::json* modules = r.find("target_modules");
    if (!modules) r.fail("target_modules", "is required");
    if (!modules->is_array() || modules->empty())
      r.fail("target_modules", "expected a non-empty array of strings, got " + describe_json(*modules));
    for (const auto& m : *modules) {
      if (!m.is_string() || m.get_ref<const std::string&>().empty())
        r.fail("target_modules", "expected a non-empty array of strings, got " + describe_json(*modules));
      a.target_modules.push_back(m.get<std::string>());
    }
    const std::string& kind = r.one_of("kind", {"policy", "reward_helpfulness", "reward_safety", "value"});
    a.kind = *parse_adapter_kind(kind);
    return a;
  } catch (const JsonFieldError& p) {
    throw Invalid(p.what());
  }
}

AdapterRecord AdapterRepository::add(const NewAdapter& a) {
  validate_adapter_name(a.name);
  if (a.path.empty()) throw Invalid("field 'path': must not be empty");
  if (a.base_model.empty()) throw Invalid("field 'base_model': must not be empty");
  if (a.rank <= 0) throw Invalid("field 'rank': expected an integer >= 1, got " + std::to_string(a.rank));
  if (!(a.alpha > 0) || !std::isfinite(a.alpha))
    throw Invalid("field 'alpha': expected a number > 0, got " + nlohmann::json(a.alpha).dump());
  if (a.target_modules.empty()) throw Invalid("field 'target_modules': must not be empty");
  for (const auto& m : a.target_modules)
    if (m.empty()) throw Invalid("field 'target_modules': names must not be empty");
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  if (find_locked(db, a.name)) throw Conflict("adapter '" + a.name + "' already exists");
  if (a.job) {
    auto st = db.prepare("SELECT 1 FROM jobs WHERE id = ?1");
    st.bind(1, *a.job);
    if (!st.step()) throw Invalid("field 'job': job " + std::to_string(*a.job) + " does not exist");
  }
  auto st = db.prepare(
      "INSERT INTO adapters (name, path, base_model, job_id, rank, alpha, target_modules, kind, created) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  st.bind(1, a.name).bind(2, a.path).bind(3, a.base_model).bind(4, a.job).bind(5, a.rank).bind(6, a.alpha);
  st.bind(7, nlohmann::json(a.target_modules).dump()).bind(8, to_string(a.kind)).bind(9, now_iso8601());
  st.run();
  auto record = find_locked(db, a.name);
  tx.commit();
  return *record;
}

AdapterRecord AdapterRepository::get(std::string_view name) {
  auto r = find(name);
  if (!r) throw NotFound("adapter '" + std::string(name) + "' not found");
  return *r;
}

std::optional<AdapterRecord> AdapterRepository::find(std::string_view name) {
  auto lock = conn_.lock();
  return find_locked(conn_.db(), name);
}

std::vector<AdapterRecord> AdapterRepository::list() {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare(std::string(kColumns) + " ORDER BY name");
  std::vector<AdapterRecord> out;
  while (st.step()) out.push_back(read_adapter(st));
  return out;
}

void AdapterRepository::remove(std::string_view name) {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare("DELETE FROM adapters WHERE name = ?1");
  st.bind(1, name).run();
  if (conn_.db().changes() == 0) throw NotFound("adapter '" + std::string(name) + "' not found");
}

std::int64_t AdapterRepository::count() {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare("SELECT count(*) FROM adapters");
  st.step();
  return st.column_int64(0);
}

}  // namespace wb::storage
