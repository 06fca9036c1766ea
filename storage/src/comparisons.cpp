#include "wb/storage/comparisons.h"

#include <cmath>
#include <limits>

#include "dataset_tables.h"
#include "json_fields.h"
#include "wb/json/reader.h"
#include "wb/storage/connection.h"
#include "wb/storage/dataset_format.h"
#include "wb/storage/error.h"

namespace wb::storage {

namespace {

constexpr const char* kColumns =
    "SELECT c.id, d.name, c.prompt, c.response_a, c.response_b, c.chosen, c.rating, c.safety, "
    "c.is_safety_prompt, c.annotator, c.source, c.model_a, c.model_b, c.seconds, c.created "
    "FROM comparisons c JOIN datasets d ON d.id = c.dataset_id";

ComparisonRecord read_comparison(const Statement& st) {
  ComparisonRecord r;
  r.id = st.column_int64(0);
  r.dataset = st.column_text(1);
  r.prompt = st.column_text(2);
  r.response_a = st.column_text(3);
  r.response_b = st.column_text(4);
  r.chosen = st.column_text(5) == "b" ? 'b' : 'a';
  r.rating = static_cast<int>(st.column_int64(6));
  r.safety = st.column_text(7);
  r.is_safety_prompt = st.column_int64(8) != 0;
  r.annotator = st.column_text(9);
  r.source = st.column_text(10);
  r.model_a = st.column_optional_text(11);
  r.model_b = st.column_optional_text(12);
  r.seconds = st.column_optional_double(13);
  r.created = st.column_text(14);
  return r;
}

ComparisonRecord get_locked(Database& db, std::int64_t id) {
  auto st = db.prepare(std::string(kColumns) + " WHERE c.id = ?1");
  st.bind(1, id);
  if (!st.step()) throw NotFound("comparison " + std::to_string(id) + " not found");
  return read_comparison(st);
}

// The preference row a comparison stands for (canonical key order of dataset_format.h).
std::string preference_row(const std::string& prompt, const std::string& response_a, const std::string& response_b,
                           char chosen, int rating, const std::string& safety, bool is_safety_prompt) {
  const std::string& winner = chosen == 'a' ? response_a : response_b;
  const std::string& loser = chosen == 'a' ? response_b : response_a;
  return "{\"prompt\":" + detail::quote(prompt) + ",\"chosen\":" + detail::quote(winner) +
         ",\"rejected\":" + detail::quote(loser) + ",\"rating\":" + std::to_string(rating) +
         ",\"safety\":" + detail::quote(safety) + ",\"is_safety_prompt\":" + (is_safety_prompt ? "true" : "false") +
         "}";
}

bool valid_utf8(const std::string& s) {
  try {
    detail::quote(s);
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace

NewComparison ComparisonRepository::parse(const nlohmann::json& body, std::optional<std::string_view> dataset) {
  try {
    JsonReader r(body, "", NullIs::value);
    r.allow_only({"dataset", "prompt", "response_a", "response_b", "chosen", "rating", "safety", "is_safety_prompt",
                  "annotator", "source", "model_a", "model_b", "seconds"});
    NewComparison c;
    if (dataset) {
      c.dataset = std::string(*dataset);
      if (auto given = r.optional_string("dataset"); given && *given != c.dataset)
        r.fail("dataset", "expected \"" + c.dataset + "\" (the target dataset), got " + detail::quote(*given));
    } else {
      c.dataset = r.string("dataset");
    }
    c.prompt = r.string("prompt");
    c.response_a = r.string("response_a");
    c.response_b = r.string("response_b");
    c.chosen = r.one_of("chosen", {"a", "b"})[0];
    c.rating = static_cast<int>(r.integer("rating", 0, 3));
    c.safety = r.one_of("safety", {"both_safe", "chosen_safe", "both_unsafe"});
    c.is_safety_prompt = r.boolean("is_safety_prompt");
    c.annotator = r.string("annotator");
    c.source = r.one_of("source", {"human", "model"});
    c.model_a = r.optional_string("model_a");
    c.model_b = r.optional_string("model_b");
    c.seconds = r.optional_number("seconds", 0, std::numeric_limits<double>::max());
    return c;
  } catch (const JsonFieldError& p) {
    throw Invalid(p.what());
  }
}

void ComparisonRepository::validate(const NewComparison& c) {
  validate_name(c.dataset, "dataset");
  auto text = [](const std::string& value, const char* field) {
    if (value.empty()) throw Invalid(std::string("field '") + field + "': must not be empty");
    if (!valid_utf8(value)) throw Invalid(std::string("field '") + field + "': invalid UTF-8");
  };
  text(c.prompt, "prompt");
  text(c.response_a, "response_a");
  text(c.response_b, "response_b");
  text(c.annotator, "annotator");
  if (c.chosen != 'a' && c.chosen != 'b')
    throw Invalid("field 'chosen': expected one of a, b, got " + detail::quote(std::string(1, c.chosen)));
  if (c.rating < 0 || c.rating > 3)
    throw Invalid("field 'rating': expected an integer 0..3, got " + std::to_string(c.rating));
  if (c.safety != "both_safe" && c.safety != "chosen_safe" && c.safety != "both_unsafe")
    throw Invalid("field 'safety': expected one of both_safe, chosen_safe, both_unsafe, got " + detail::quote(c.safety));
  if (c.source != "human" && c.source != "model")
    throw Invalid("field 'source': expected one of human, model, got " + detail::quote(c.source));
  if (c.model_a) text(*c.model_a, "model_a");
  if (c.model_b) text(*c.model_b, "model_b");
  if (c.seconds && (!std::isfinite(*c.seconds) || *c.seconds < 0))
    throw Invalid("field 'seconds': expected a number >= 0, got " + nlohmann::json(*c.seconds).dump());
}

ComparisonRecord ComparisonRepository::insert(const NewComparison& c) {
  validate(c);
  const std::string row =
      preference_row(c.prompt, c.response_a, c.response_b, c.chosen, c.rating, c.safety, c.is_safety_prompt);
  auto lock = conn_.lock();
  Database& db = conn_.db();
  Transaction tx(db);
  auto dataset = detail::find_dataset(db, c.dataset);
  if (!dataset) {
    dataset = detail::create_dataset(db, c.dataset, DatasetKind::Preference, "comparisons", 0.0);
  } else if (dataset->record.kind != DatasetKind::Preference) {
    throw Invalid("field 'dataset': dataset '" + c.dataset + "' is of kind " +
                  std::string(to_string(dataset->record.kind)) + ", comparisons need a preference dataset");
  }
  const std::int64_t row_index = detail::append_row(db, *dataset, row);
  auto st = db.prepare(
      "INSERT INTO comparisons (dataset_id, row_index, prompt, response_a, response_b, chosen, rating, safety, "
      "is_safety_prompt, annotator, source, model_a, model_b, seconds, created) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
  st.bind(1, dataset->id).bind(2, row_index).bind(3, c.prompt).bind(4, c.response_a).bind(5, c.response_b);
  st.bind(6, std::string(1, c.chosen)).bind(7, c.rating).bind(8, c.safety).bind(9, c.is_safety_prompt);
  st.bind(10, c.annotator).bind(11, c.source).bind(12, c.model_a).bind(13, c.model_b).bind(14, c.seconds);
  st.bind(15, now_iso8601());
  st.run();
  auto record = get_locked(db, db.last_insert_rowid());
  tx.commit();
  return record;
}

ComparisonRecord ComparisonRepository::get(std::int64_t id) {
  auto lock = conn_.lock();
  return get_locked(conn_.db(), id);
}

ComparisonsPage ComparisonRepository::list(std::optional<std::string_view> dataset, std::int64_t offset,
                                           std::int64_t limit) {
  if (offset < 0) throw Invalid("field 'offset': expected an integer >= 0, got " + std::to_string(offset));
  auto lock = conn_.lock();
  Database& db = conn_.db();
  std::optional<std::int64_t> dataset_id;
  if (dataset) dataset_id = detail::require_dataset(db, *dataset).id;
  ComparisonsPage page;
  {
    auto st = db.prepare("SELECT count(*) FROM comparisons WHERE (?1 IS NULL OR dataset_id = ?1) "
        "AND dataset_id IN (SELECT id FROM datasets WHERE state = 'ready')");
    st.bind(1, dataset_id);
    st.step();
    page.total = st.column_int64(0);
  }
  auto st = db.prepare(std::string(kColumns) + " WHERE (?1 IS NULL OR c.dataset_id = ?1) AND d.state = 'ready' ORDER BY c.id LIMIT ?2 OFFSET ?3");
  st.bind(1, dataset_id).bind(2, limit > 0 ? limit : std::int64_t{-1}).bind(3, offset);
  while (st.step()) page.comparisons.push_back(read_comparison(st));
  return page;
}

std::string ComparisonRepository::export_jsonl(std::string_view dataset) {
  auto lock = conn_.lock();
  Database& db = conn_.db();
  auto d = detail::require_dataset(db, dataset);
  auto st = db.prepare(
      "SELECT prompt, response_a, response_b, chosen, rating, safety, is_safety_prompt FROM comparisons "
      "WHERE dataset_id = ?1 ORDER BY id");
  st.bind(1, d.id);
  std::string out;
  while (st.step()) {
    out += preference_row(st.column_text(0), st.column_text(1), st.column_text(2), st.column_text(3) == "b" ? 'b' : 'a',
                          static_cast<int>(st.column_int64(4)), st.column_text(5), st.column_int64(6) != 0);
    out += '\n';
  }
  return out;
}

}  // namespace wb::storage
