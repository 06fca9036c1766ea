// The method requests of the reward plugin are parsed strictly: every bad or unknown field is an
// error naming it (nested ones with their path), before any model is touched.
#include <catch2/catch.hpp>

#include "requests.h"
#include "wb/plugin/spec.h"

using namespace wb::reward;
using nlohmann::json;

namespace {
void expect_error(const json& req, const std::string& message, bool score = false) {
  INFO(req.dump());
  try {
    if (score) parse_score(req);
    else parse_label_pair(req);
    FAIL("accepted");
  } catch (const wb::plugin::SpecError& e) {
    CHECK(std::string(e.what()) == message);
  }
}
}  // namespace

TEST_CASE("label.pair requests: defaults, sides, and errors naming the field", "[reward][requests]") {
  const auto q = parse_label_pair({{"model", "m"}, {"prompt", "p"}, {"a", {{"adapter", "x"}, {"temperature", 0}}}, {"b", nullptr}});
  CHECK(q.a.adapter == "x");
  CHECK(q.a.temperature == 0);
  CHECK(q.b.adapter.empty());  // null or absent: the base model
  CHECK(q.b.temperature == 0.7);
  CHECK(q.max_tokens == 64);
  CHECK(q.seed == 0);

  expect_error({{"prompt", "p"}}, "field 'model': is required");
  expect_error({{"model", "m"}, {"prompt", ""}}, "field 'prompt': must not be empty");
  expect_error({{"model", "m"}, {"prompt", "p"}, {"a", {{"temperature", "hot"}}}},
               "field 'a.temperature': expected a number 0..100, got \"hot\"");
  expect_error({{"model", "m"}, {"prompt", "p"}, {"b", {{"adaptor", "x"}}}}, "field 'b.adaptor': unknown field");
  expect_error({{"model", "m"}, {"prompt", "p"}, {"a", 3}}, "field 'a': expected an object {\"adapter\",\"temperature\"}, got number");
  expect_error({{"model", "m"}, {"prompt", "p"}, {"max_tokens", 0}}, "field 'max_tokens': expected an integer 1..4096, got 0");
  expect_error({{"model", "m"}, {"prompt", "p"}, {"extra", 1}}, "field 'extra': unknown field");
}

TEST_CASE("reward.score requests: item and dataset forms", "[reward][requests]") {
  const auto items = parse_score({{"rm", "r"}, {"items", {{{"prompt", "p"}, {"response", "x"}}}}});
  REQUIRE(items.items.size() == 1);
  CHECK(items.dataset.empty());
  const auto ds = parse_score({{"rm", "r"}, {"dataset", "d"}, {"split", "all"}, {"limit", 5}});
  CHECK(ds.dataset == "d");
  CHECK(ds.split.empty());
  CHECK(ds.limit == 5);
  expect_error({{"rm", "r"}}, "field 'items': give exactly one of items or dataset", true);
  expect_error({{"rm", "r"}, {"items", {{{"prompt", "p"}, {"response", "x"}}}}, {"dataset", "d"}},
               "field 'items': give exactly one of items or dataset", true);
  expect_error({{"rm", "r"}, {"items", {{{"prompt", "p"}, {"response", "x"}, {"score", 1}}}}},
               "field 'items[0].score': unknown field", true);
  expect_error({{"rm", "r"}, {"items", {"text"}}}, "field 'items[0]': expected an object {\"prompt\",\"response\"}", true);
}
