// Preference labels: validation, storage, the dataset rows they add, export.
#include <catch2/catch.hpp>

#include "storage_test_util.h"

using namespace wb::storage;
using wb::storage::test::count_rows;
using wb::storage::test::TempDir;

namespace {

nlohmann::json body() {
  return {{"dataset", "labels"},     {"prompt", "How do I boil an egg?"},
          {"response_a", "Boil it."}, {"response_b", "Place it in boiling water for 7 minutes."},
          {"chosen", "b"},            {"rating", 2},
          {"safety", "both_safe"},    {"is_safety_prompt", false},
          {"annotator", "alice"},     {"source", "human"}};
}

std::string parse_error(const nlohmann::json& j) {
  try {
    ComparisonRepository::parse(j);
    return "";
  } catch (const Invalid& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("insert creates the preference dataset and appends the equivalent row") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto b = body();
  b["model_a"] = "base";
  b["model_b"] = "sft-1";
  b["seconds"] = 12.5;
  auto rec = store.comparisons().insert(ComparisonRepository::parse(b));
  CHECK(rec.id > 0);
  CHECK(rec.dataset == "labels");
  CHECK(rec.chosen == 'b');
  CHECK(rec.model_b == std::optional<std::string>("sft-1"));
  CHECK(rec.seconds == std::optional<double>(12.5));
  CHECK(rec.created.size() == 20);

  auto ds = store.datasets().get("labels");
  CHECK(ds.kind == DatasetKind::Preference);
  CHECK(ds.rows == 1);
  CHECK(store.datasets().export_jsonl("labels") ==
        "{\"prompt\":\"How do I boil an egg?\",\"chosen\":\"Place it in boiling water for 7 minutes.\","
        "\"rejected\":\"Boil it.\",\"rating\":2,\"safety\":\"both_safe\",\"is_safety_prompt\":false}\n");
  CHECK(store.comparisons().export_jsonl("labels") == store.datasets().export_jsonl("labels"));

  nlohmann::json j = rec;
  CHECK(j["chosen"] == "b");
  CHECK(j["rating"] == 2);
  CHECK(j["model_a"] == "base");
  CHECK(j["is_safety_prompt"] == false);
  CHECK(store.comparisons().get(rec.id).prompt == "How do I boil an egg?");
  CHECK_THROWS_AS(store.comparisons().get(rec.id + 100), NotFound);
}

TEST_CASE("comparisons append to an imported preference dataset and list with paging") {
  TempDir dir;
  Store store(dir / "wb.db");
  ImportOptions o;
  o.name = "labels";
  o.kind = DatasetKind::Preference;
  store.datasets().import_jsonl(o, "{\"prompt\":\"p\",\"chosen\":\"c\",\"rejected\":\"r\"}\n");
  for (int i = 0; i < 5; ++i) {
    auto b = body();
    b["prompt"] = "q" + std::to_string(i);
    b["chosen"] = i % 2 ? "a" : "b";
    store.comparisons().insert(ComparisonRepository::parse(b));
  }
  CHECK(store.datasets().get("labels").rows == 6);
  auto page = store.comparisons().list("labels", 1, 2);
  CHECK(page.total == 5);
  REQUIRE(page.comparisons.size() == 2);
  CHECK(page.comparisons[0].prompt == "q1");
  CHECK(page.comparisons[0].chosen == 'a');
  CHECK(store.comparisons().list(std::nullopt, 0, 0).comparisons.size() == 5);
  const std::string exported = store.comparisons().export_jsonl("labels");
  CHECK(std::count(exported.begin(), exported.end(), '\n') == 5);
  CHECK(exported.rfind("{\"prompt\":\"q0\",\"chosen\":\"Place it", 0) == 0);
  CHECK_THROWS_AS(store.comparisons().list("nope", 0, 10), NotFound);

  // Deleting the dataset removes its comparisons.
  store.datasets().remove("labels");
  CHECK(count_rows(store, "comparisons") == 0);
}

TEST_CASE("a comparison into a dataset of another kind is refused and stores nothing") {
  TempDir dir;
  Store store(dir / "wb.db");
  ImportOptions o;
  o.name = "labels";
  o.kind = DatasetKind::Prompt;
  store.datasets().import_jsonl(o, "{\"prompt\":\"p\"}\n");
  try {
    store.comparisons().insert(ComparisonRepository::parse(body()));
    FAIL("a prompt dataset takes no comparisons");
  } catch (const Invalid& e) {
    CHECK(std::string(e.what()).find("comparisons need a preference dataset") != std::string::npos);
  }
  CHECK(count_rows(store, "comparisons") == 0);
  CHECK(store.datasets().get("labels").rows == 1);
}

TEST_CASE("comparison validation names the field") {
  auto b = body();
  b["rating"] = 4;
  CHECK(parse_error(b) == "field 'rating': expected an integer 0..3, got 4");
  b = body();
  b["rating"] = -1;
  CHECK(parse_error(b) == "field 'rating': expected an integer 0..3, got -1");
  b = body();
  b["safety"] = "mostly_safe";
  CHECK(parse_error(b) == "field 'safety': expected one of both_safe, chosen_safe, both_unsafe, got \"mostly_safe\"");
  b = body();
  b["chosen"] = "c";
  CHECK(parse_error(b) == "field 'chosen': expected one of a, b, got \"c\"");
  b = body();
  b["source"] = "crowd";
  CHECK(parse_error(b) == "field 'source': expected one of human, model, got \"crowd\"");
  b = body();
  b["is_safety_prompt"] = "no";
  CHECK(parse_error(b) == "field 'is_safety_prompt': expected true or false, got \"no\"");
  b = body();
  b.erase("annotator");
  CHECK(parse_error(b) == "field 'annotator': is required");
  b = body();
  b["response_a"] = "";
  CHECK(parse_error(b) == "field 'response_a': must not be empty");
  b = body();
  b["extra"] = 1;
  CHECK(parse_error(b) == "field 'extra': unknown field");
  b = body();
  b["seconds"] = -3;
  CHECK(parse_error(b) == "field 'seconds': expected a number >= 0, got -3");
  CHECK(parse_error(nlohmann::json::array()) == "expected a JSON object, got []");

  // The dataset may come from the route instead of the body.
  b = body();
  b.erase("dataset");
  CHECK(ComparisonRepository::parse(b, std::string_view("from-route")).dataset == "from-route");
  CHECK(parse_error(b) == "field 'dataset': is required");
}

TEST_CASE("insert re-checks a hand-built comparison") {
  TempDir dir;
  Store store(dir / "wb.db");
  NewComparison c = ComparisonRepository::parse(body());
  c.rating = 7;
  try {
    store.comparisons().insert(c);
    FAIL("rating 7");
  } catch (const Invalid& e) {
    CHECK(std::string(e.what()) == "field 'rating': expected an integer 0..3, got 7");
  }
  c = ComparisonRepository::parse(body());
  c.safety = "unknown";
  CHECK_THROWS_AS(store.comparisons().insert(c), Invalid);
  c = ComparisonRepository::parse(body());
  c.dataset = "bad name!";
  CHECK_THROWS_AS(store.comparisons().insert(c), Invalid);
  c = ComparisonRepository::parse(body());
  c.prompt = "bad \xFF utf8";
  CHECK_THROWS_AS(store.comparisons().insert(c), Invalid);
  CHECK(count_rows(store, "comparisons") == 0);
  CHECK(count_rows(store, "datasets") == 0);
}
