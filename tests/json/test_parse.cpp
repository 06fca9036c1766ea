// wb::parse_json: syntax errors carry the byte offset; nesting and size beyond the limits are
// refused before any recursive code (dump, copy, compare) could walk the value.
#include <catch2/catch.hpp>

#include "wb/json/parse.h"

using wb::JsonLimits;
using wb::JsonParseError;
using wb::parse_json;

TEST_CASE("parse_json: values within the limits, syntax errors with the offset", "[json]") {
  CHECK(parse_json(R"({"a":[1,2,{"b":"]]]"}]})")["a"][2]["b"] == "]]]");
  try {
    parse_json(R"({"a": tru})");
    FAIL("accepted");
  } catch (const JsonParseError& e) {
    CHECK(e.offset() >= 6);
    CHECK(e.offset() <= 10);
    CHECK_THAT(e.what(), Catch::StartsWith("invalid JSON at byte offset ") && Catch::Contains("parse error"));
  }
  try {
    parse_json(R"({"lr": 1e400})");  // beyond the double range
    FAIL("accepted");
  } catch (const JsonParseError& e) {
    CHECK(e.offset() == 7);
    CHECK(std::string(e.what()) == "invalid JSON at byte offset 7: field 'lr': number out of range: 1e400");
  }
  // The field is named however deep it sits, array elements by index.
  CHECK_THROWS_WITH(parse_json(R"({"spec": {"a": [1, {"b": 2}], "steps": -1e400}})"),
                    Catch::Contains("field 'spec.steps': number out of range: -1e400"));
  CHECK_THROWS_WITH(parse_json(R"({"messages": [{"x": 1}, [0], {"content": 2, "t": 1e999}]})"),
                    Catch::Contains("field 'messages[2].t': number out of range: 1e999"));
  CHECK_THROWS_WITH(parse_json("[1, 2, 1E400]"), Catch::Contains("field '[2]': number out of range: 1E400"));
  CHECK_THROWS_WITH(parse_json("1e400"), Catch::Contains("byte offset 0: number out of range: 1e400"));
  CHECK_THROWS_AS(parse_json(""), JsonParseError);
}

TEST_CASE("parse_json: nesting deeper than the limit is refused at the byte where it crosses it", "[json]") {
  const int n = 500000;
  const std::string deep = std::string(n, '[') + std::string(n, ']');
  try {
    parse_json(deep);
    FAIL("accepted");
  } catch (const JsonParseError& e) {
    CHECK(e.offset() == 128);
    CHECK(std::string(e.what()) == "JSON nested deeper than 128 levels at byte offset 128");
  }
  const std::string objects = [] {
    std::string s;
    for (int i = 0; i < 200; ++i) s += "{\"k\":";
    s += "1";
    for (int i = 0; i < 200; ++i) s += "}";
    return s;
  }();
  CHECK_THROWS_WITH(parse_json(objects), Catch::Contains("nested deeper than 128 levels"));
  CHECK(parse_json(objects, JsonLimits{.max_depth = 256}).is_object());
  // Brackets inside strings are text, not nesting.
  CHECK(parse_json("[\"" + std::string(1000, '[') + "\"]").size() == 1);
  CHECK(parse_json(std::string(128, '[') + std::string(128, ']')).is_array());
}

TEST_CASE("parse_json: more values than the limit are refused", "[json]") {
  std::string many = "[";
  for (int i = 0; i < 1000; ++i) many += (i ? ",1" : "1");
  many += "]";
  CHECK(parse_json(many).size() == 1000);
  CHECK_THROWS_WITH(parse_json(many, JsonLimits{.max_values = 999}), Catch::Contains("more than 999 values"));
}
