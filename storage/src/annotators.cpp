#include "wb/storage/annotators.h"

#include <fstream>

#include "wb/storage/connection.h"
#include "wb/storage/error.h"
#include "wb/storage/records.h"
#include "wb/storage/sha256.h"

namespace wb::storage {

namespace {

constexpr const char* kSelect =
    "SELECT a.name, a.created, (SELECT count(*) FROM comparisons c WHERE c.annotator = a.name) FROM annotators a";

AnnotatorRecord read_annotator(const Statement& st) {
  return {st.column_text(0), st.column_text(1), st.column_int64(2)};
}

std::optional<AnnotatorRecord> find_locked(Database& db, std::string_view name) {
  auto st = db.prepare(std::string(kSelect) + " WHERE a.name = ?1");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_annotator(st);
}

}  // namespace

void to_json(nlohmann::json& j, const AnnotatorRecord& r) {
  j = {{"name", r.name}, {"created", r.created}, {"labels", r.labels}};
}

std::string random_token_hex() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!in.read(reinterpret_cast<char*>(bytes), sizeof bytes)) throw Error("cannot read 32 bytes from /dev/urandom");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char b : bytes) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

NewAnnotatorToken AnnotatorRepository::add(std::string_view name) {
  validate_name(name);
  NewAnnotatorToken out;
  out.token = random_token_hex();
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  if (find_locked(db, name)) throw Conflict("annotator '" + std::string(name) + "' already exists");
  auto st = db.prepare("INSERT INTO annotators (name, token_sha256, created) VALUES (?1, ?2, ?3)");
  st.bind(1, name).bind(2, sha256_hex(out.token)).bind(3, now_iso8601());
  st.run();
  out.annotator = *find_locked(db, name);
  tx.commit();
  return out;
}

std::vector<AnnotatorRecord> AnnotatorRepository::list() {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare(std::string(kSelect) + " ORDER BY a.name");
  std::vector<AnnotatorRecord> out;
  while (st.step()) out.push_back(read_annotator(st));
  return out;
}

AnnotatorRecord AnnotatorRepository::get(std::string_view name) {
  auto lock = conn_.lock();
  auto r = find_locked(conn_.db(), name);
  if (!r) throw NotFound("annotator '" + std::string(name) + "' not found");
  return *r;
}

void AnnotatorRepository::remove(std::string_view name) {
  auto lock = conn_.lock();
  auto st = conn_.db().prepare("DELETE FROM annotators WHERE name = ?1");
  st.bind(1, name);
  st.run();
  if (conn_.db().changes() == 0) throw NotFound("annotator '" + std::string(name) + "' not found");
}

std::optional<std::string> AnnotatorRepository::find_by_token(std::string_view token) {
  if (token.empty()) return std::nullopt;
  const std::string hash = sha256_hex(token);
  auto lock = conn_.lock();
  auto st = conn_.db().prepare("SELECT name FROM annotators WHERE token_sha256 = ?1");
  st.bind(1, hash);
  if (!st.step()) return std::nullopt;
  return st.column_text(0);
}

}  // namespace wb::storage
