// wb::JsonReader: every error names the field with its path, what was expected and what was found;
// unread fields are refused by finish(); null is absent or a value, as asked.
#include <catch2/catch.hpp>

#include "wb/json/reader.h"

using nlohmann::json;
using wb::JsonFieldError;
using wb::JsonReader;
using wb::NullIs;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const JsonFieldError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("json reader: typed reads with defaults and ranges", "[json]") {
  const json j = {{"name", "m"}, {"rank", 16}, {"lr", 0.5}, {"on", true}, {"mods", {"q", "v"}}, {"one", "k"},
                  {"kind", "lora"}, {"opt", {{"beta", 0.9}}}};
  JsonReader r(j);
  CHECK(r.string("name") == "m");
  CHECK(r.integer_or("rank", 8, 1, 64) == 16);
  CHECK(r.integer_or("absent", 8, 1, 64) == 8);
  CHECK(r.number_or("lr", 1.0, 0.0, 1.0) == 0.5);
  CHECK(r.boolean_or("on", false));
  CHECK(*r.optional_strings("mods") == std::vector<std::string>{"q", "v"});
  CHECK(*r.optional_strings("one") == std::vector<std::string>{"k"});
  CHECK(r.one_of_or("kind", {"lora", "full"}, "full") == "lora");
  JsonReader opt = r.child("opt");
  CHECK(opt.number("beta", 0, 1) == 0.9);
  opt.finish();
  r.finish();
}

TEST_CASE("json reader: errors name the field, the expectation and the value", "[json]") {
  const json j = {{"rank", 0}, {"lr", "fast"}, {"name", ""}, {"kind", "qlora"}, {"opt", {{"beta", 2}}}, {"big", 1e300},
                  {"ids", {1, "x"}}};
  JsonReader r(j);
  CHECK(error_of([&] { r.integer_or("rank", 8, 1, 64); }) == "field 'rank': expected an integer 1..64, got 0");
  CHECK(error_of([&] { r.integer("rank", 1); }) == "field 'rank': expected an integer >= 1, got 0");
  CHECK(error_of([&] { r.number_or("lr", 1, 0); }) == "field 'lr': expected a number >= 0, got \"fast\"");
  CHECK(error_of([&] { r.string("name"); }) == "field 'name': must not be empty");
  CHECK(error_of([&] { r.string("missing"); }) == "field 'missing': is required");
  CHECK(error_of([&] { r.one_of_or("kind", {"lora", "full"}, "lora"); }) ==
        "field 'kind': expected one of lora, full, got \"qlora\"");
  CHECK(error_of([&] { r.child("opt").number("beta", 0, 1); }) == "field 'opt.beta': expected a number 0..1, got 2");
  CHECK(error_of([&] { r.integer("big"); }) == "field 'big': expected an integer, got 1e+300");
  CHECK(error_of([&] { r.optional_strings("ids"); }) == "field 'ids': expected a list of strings, got [1,\"x\"]");
  const json array = json::array({1});
  const json three = 3;
  CHECK(error_of([&] { JsonReader(array, "spec."); }) == "field 'spec': expected a JSON object, got [1]");
  CHECK(error_of([&] { JsonReader{three}; }) == "expected a JSON object, got 3");
}

TEST_CASE("json reader: finish refuses fields nobody read, allow and allow_only mark them", "[json]") {
  const json j = {{"model", "m"}, {"lrr", 1}, {"job_id", 4}};
  JsonReader r(j);
  r.string("model");
  r.allow("job_id");
  CHECK(error_of([&] { r.finish(); }) == "field 'lrr': unknown field");
  JsonReader a(j);
  CHECK(error_of([&] { a.allow_only({"model", "job_id"}); }) == "field 'lrr': unknown field");
  JsonReader b(j);
  b.allow_only({"model", "job_id", "lrr"});
  CHECK_NOTHROW(b.finish());
}

TEST_CASE("json reader: null is absent by default, a value under NullIs::value", "[json]") {
  const json j = {{"adapter", nullptr}, {"n", 2.0}};
  JsonReader r(j);
  CHECK_FALSE(r.has("adapter"));
  CHECK(r.string_or("adapter", "base") == "base");
  CHECK(error_of([&] { r.integer("n"); }) == "field 'n': expected an integer, got 2.0");
  r.accept_whole_floats(true);
  CHECK(r.integer("n") == 2);
  JsonReader strict(j, "", NullIs::value);
  CHECK(strict.has("adapter"));
  CHECK(error_of([&] { strict.optional_string("adapter"); }) == "field 'adapter': expected a string, got null");
}

TEST_CASE("json reader: long values are cut in messages, never inside a UTF-8 sequence", "[json]") {
  const std::string long_text = std::string(56, 'a') + "\xc3\xa9\xc3\xa9";  // 56 + 2 two-byte chars
  const std::string d = wb::describe_json(json(long_text));
  CHECK(d.size() <= 60);
  CHECK(d.substr(d.size() - 3) == "...");
  CHECK(json::parse("\"" + d.substr(1, d.size() - 4) + "\"").is_string());  // valid UTF-8 up to the cut
}
