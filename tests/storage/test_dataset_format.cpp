// Strict row validation and the canonical JSONL form (dataset_format.h), rule by rule.
#include <catch2/catch.hpp>

#include "wb/storage/dataset_format.h"
#include "wb/storage/error.h"

using namespace wb::storage;

namespace {

// The InvalidDataset message a line produces ("" when it is accepted).
std::string error_of(DatasetKind kind, std::string_view line, std::int64_t line_no = 1) {
  try {
    canonical_line(kind, line, line_no);
    return "";
  } catch (const InvalidDataset& e) {
    CHECK(e.line() == line_no);
    CHECK(e.code() == ErrorCode::InvalidDataset);
    return e.what();
  }
}

}  // namespace

TEST_CASE("sft rows: both shapes become canonical") {
  CHECK(canonical_line(DatasetKind::Sft, R"({ "completion" : "4", "prompt": "2+2?" })", 1) ==
        R"({"prompt":"2+2?","completion":"4"})");
  CHECK(canonical_line(DatasetKind::Sft,
                       R"({"messages":[{"content":"be brief","role":"system"},{"role":"user","content":"hi"},)"
                       R"({"role":"assistant","content":"hello"}]})",
                       1) ==
        R"({"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"},)"
        R"({"role":"assistant","content":"hello"}]})");
}

TEST_CASE("canonical text keeps UTF-8 as is and decodes escapes") {
  CHECK(canonical_line(DatasetKind::Prompt, R"({"prompt":"caf\u00e9 \ud83d\ude00 / \"q\"\n"})", 1) ==
        "{\"prompt\":\"café 😀 / \\\"q\\\"\\n\"}");
  const std::string canon = "{\"prompt\":\"Ünïcødé ✓\",\"system\":\"tab\\there\"}";
  CHECK(canonical_line(DatasetKind::Prompt, canon, 1) == canon);  // fixed point
  CHECK(canonical_line(DatasetKind::Prompt, canon + "\r", 1) == canon);  // CRLF files
}

TEST_CASE("preference rows: optional fields in fixed order") {
  CHECK(canonical_line(DatasetKind::Preference,
                       R"({"is_safety_prompt":false,"safety":"chosen_safe","rating":3,"rejected":"r","chosen":"c","prompt":"p"})",
                       1) ==
        R"({"prompt":"p","chosen":"c","rejected":"r","rating":3,"safety":"chosen_safe","is_safety_prompt":false})");
  CHECK(canonical_line(DatasetKind::Preference, R"({"prompt":"p","chosen":"c","rejected":"r"})", 1) ==
        R"({"prompt":"p","chosen":"c","rejected":"r"})");
  CHECK(canonical_line(DatasetKind::Preference, R"({"prompt":"p","chosen":"c","rejected":"r","safety":"both_unsafe"})", 1) ==
        R"({"prompt":"p","chosen":"c","rejected":"r","safety":"both_unsafe"})");
}

TEST_CASE("prompt rows") {
  CHECK(canonical_line(DatasetKind::Prompt, R"({"system":"s","prompt":"p"})", 1) == R"({"prompt":"p","system":"s"})");
  CHECK(error_of(DatasetKind::Prompt, R"({"prompt":"p","completion":"c"})") ==
        "line 1: field 'completion': unknown field");
  CHECK(error_of(DatasetKind::Prompt, R"({"prompt":"p","system":""})") == "line 1: field 'system': must not be empty");
}

TEST_CASE("text rows: JSONL, one document per line, or one document") {
  CHECK(canonical_line(DatasetKind::Text, R"({"text":"a b"})", 1) == R"({"text":"a b"})");
  CHECK(error_of(DatasetKind::Text, R"({"prompt":"p"})") == "line 1: field 'prompt': unknown field");
  CHECK(parse_text("one\n\n  \ntwo \"q\"\r\nthree", TextFormat::Lines) ==
        std::vector<std::string>{R"({"text":"one"})", R"({"text":"two \"q\""})", R"({"text":"three"})"});
  CHECK(parse_text("para one\n\npara two\n", TextFormat::Document) ==
        std::vector<std::string>{R"({"text":"para one\n\npara two\n"})"});
  CHECK_THROWS_WITH(parse_text("\n \n", TextFormat::Lines), Catch::Contains("no rows"));
  CHECK_THROWS_WITH(parse_text("", TextFormat::Document), Catch::Contains("no rows"));
  CHECK_THROWS_WITH(parse_text("ok\nbad \xff byte\n", TextFormat::Lines), Catch::StartsWith("line 2:"));
}

TEST_CASE("rating must be an integer 0..3") {
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":"p","chosen":"c","rejected":"r","rating":7})", 5001) ==
        "line 5001: field 'rating': expected an integer 0..3, got 7");
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":"p","chosen":"c","rejected":"r","rating":-1})") ==
        "line 1: field 'rating': expected an integer 0..3, got -1");
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":"p","chosen":"c","rejected":"r","rating":2.0})") ==
        "line 1: field 'rating': expected an integer 0..3, got 2.0");
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":"p","chosen":"c","rejected":"r","rating":"2"})") ==
        "line 1: field 'rating': expected an integer 0..3, got \"2\"");
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":"p","chosen":"c","rejected":"r","rating":null})") ==
        "line 1: field 'rating': expected an integer 0..3, got null");
}

TEST_CASE("safety and is_safety_prompt are checked") {
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":"p","chosen":"c","rejected":"r","safety":"safe"})") ==
        "line 1: field 'safety': expected one of both_safe, chosen_safe, both_unsafe, got \"safe\"");
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":"p","chosen":"c","rejected":"r","is_safety_prompt":1})") ==
        "line 1: field 'is_safety_prompt': expected true or false, got 1");
}

TEST_CASE("required, empty, wrong-type and unknown fields") {
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":"p","chosen":"c"})", 3) == "line 3: field 'rejected': is required");
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":"","chosen":"c","rejected":"r"})") ==
        "line 1: field 'prompt': must not be empty");
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":["p"],"chosen":"c","rejected":"r"})") ==
        "line 1: field 'prompt': expected a string, got [\"p\"]");
  CHECK(error_of(DatasetKind::Preference, R"({"prompt":"p","chosen":"c","rejected":"r","score":1})") ==
        "line 1: field 'score': unknown field");
  CHECK(error_of(DatasetKind::Sft, R"({"prompt":"p"})") == "line 1: field 'completion': is required");
  CHECK(error_of(DatasetKind::Sft, R"({"prompt":"p","completion":"c","messages":[]})") ==
        "line 1: field 'completion': unknown field");  // first unknown key in sorted order
  CHECK(error_of(DatasetKind::Prompt, R"(["p"])") == "line 1: expected a JSON object, got [\"p\"]");
  CHECK(error_of(DatasetKind::Prompt, R"("p")") == "line 1: expected a JSON object, got \"p\"");
}

TEST_CASE("long values are shortened in messages") {
  std::string line = R"({"prompt":[")" + std::string(100, 'x') + "\"]}";
  std::string msg = error_of(DatasetKind::Prompt, line);
  CHECK(msg.rfind("line 1: field 'prompt': expected a string, got [\"xxxx", 0) == 0);
  CHECK(msg.size() < 140);
  CHECK(msg.substr(msg.size() - 3) == "...");
}

TEST_CASE("sft messages rules") {
  CHECK(error_of(DatasetKind::Sft, R"({"messages":[]})") == "line 1: field 'messages': must not be empty");
  CHECK(error_of(DatasetKind::Sft, R"({"messages":"hi"})") ==
        "line 1: field 'messages': expected an array of messages, got \"hi\"");
  CHECK(error_of(DatasetKind::Sft, R"({"messages":[{"role":"user","content":"hi"},"x"]})") ==
        "line 1: field 'messages[1]': expected an object {\"role\",\"content\"}, got \"x\"");
  CHECK(error_of(DatasetKind::Sft, R"({"messages":[{"role":"bot","content":"hi"}]})") ==
        "line 1: field 'messages[0].role': expected one of system, user, assistant, got \"bot\"");
  CHECK(error_of(DatasetKind::Sft, R"({"messages":[{"role":"user","content":""}]})") ==
        "line 1: field 'messages[0].content': must not be empty");
  CHECK(error_of(DatasetKind::Sft, R"({"messages":[{"role":"user","content":"a","name":"x"}]})") ==
        "line 1: field 'messages[0].name': unknown field");
  CHECK(error_of(DatasetKind::Sft,
                 R"({"messages":[{"role":"user","content":"a"},{"role":"system","content":"s"},{"role":"assistant","content":"b"}]})") ==
        "line 1: field 'messages[1].role': a system message may only come first");
  CHECK(error_of(DatasetKind::Sft, R"({"messages":[{"role":"user","content":"a"}]})") ==
        "line 1: field 'messages': needs at least one assistant message");
}

TEST_CASE("sft assistant messages carry an optional weight 0 or 1") {
  CHECK(canonical_line(DatasetKind::Sft,
                       R"({"messages":[{"role":"user","content":"a"},{"weight":0,"role":"assistant","content":"b"},)"
                       R"({"role":"user","content":"c"},{"role":"assistant","content":"d","weight":1}]})",
                       1) ==
        R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","weight":0},)"
        R"({"role":"user","content":"c"},{"role":"assistant","content":"d","weight":1}]})");
  CHECK(error_of(DatasetKind::Sft,
                 R"({"messages":[{"role":"user","content":"a","weight":0},{"role":"assistant","content":"b"}]})", 4) ==
        "line 4: field 'messages[0].weight': only assistant messages carry a weight");
  CHECK_THAT(error_of(DatasetKind::Sft, R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","weight":2}]})"),
             Catch::StartsWith("line 1: field 'messages[1].weight': "));
  CHECK_THAT(error_of(DatasetKind::Sft, R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","weight":true}]})"),
             Catch::StartsWith("line 1: field 'messages[1].weight': "));
  CHECK(error_of(DatasetKind::Sft, R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","weight":0}]})") ==
        "line 1: field 'messages': every assistant message has weight 0: nothing to train on");
}

TEST_CASE("invalid JSON, invalid UTF-8, duplicate keys and blank lines") {
  std::string msg = error_of(DatasetKind::Prompt, R"({"prompt": "p",})", 12);
  CHECK(msg.rfind("line 12: invalid JSON: parse error at column 16", 0) == 0);
  msg = error_of(DatasetKind::Prompt, "{\"prompt\":\"caf\xC3\x28\"}", 2);
  CHECK(msg.rfind("line 2: invalid JSON: ", 0) == 0);
  CHECK(msg.find("UTF-8") != std::string::npos);
  CHECK(error_of(DatasetKind::Prompt, R"({"prompt":"a","prompt":"b"})") == "line 1: field 'prompt': duplicate key");
  CHECK(error_of(DatasetKind::Prompt, "", 4) == "line 4: blank line");
  CHECK(error_of(DatasetKind::Prompt, "   \t", 4) == "line 4: blank line");
}

TEST_CASE("parse_jsonl counts lines from 1 and accepts one final newline") {
  auto rows = parse_jsonl(DatasetKind::Prompt, "{\"prompt\":\"a\"}\n{\"prompt\":\"b\"}");
  REQUIRE(rows.size() == 2);
  CHECK(rows[1] == R"({"prompt":"b"})");
  CHECK(parse_jsonl(DatasetKind::Prompt, "{\"prompt\":\"a\"}\n").size() == 1);
  try {
    parse_jsonl(DatasetKind::Prompt, "{\"prompt\":\"a\"}\n\n");
    FAIL("a second newline at the end is a blank line");
  } catch (const InvalidDataset& e) {
    CHECK(std::string(e.what()) == "line 2: blank line");
  }
  try {
    parse_jsonl(DatasetKind::Prompt, "{\"prompt\":\"a\"}\n\n{\"prompt\":\"b\"}\n");
    FAIL("a blank line inside is an error");
  } catch (const InvalidDataset& e) {
    CHECK(std::string(e.what()) == "line 2: blank line");
  }
  CHECK_THROWS_AS(parse_jsonl(DatasetKind::Prompt, ""), InvalidDataset);
}

TEST_CASE("canonical_row on parsed rows names the row") {
  nlohmann::json row = {{"prompt", "p"}, {"chosen", "c"}, {"rejected", "r"}, {"rating", 9}};
  try {
    canonical_row(DatasetKind::Preference, row, 4, "row");
    FAIL("rating 9 must be refused");
  } catch (const InvalidDataset& e) {
    CHECK(std::string(e.what()) == "row 4: field 'rating': expected an integer 0..3, got 9");
  }
}

TEST_CASE("split_for_index is deterministic and near the fraction") {
  CHECK(split_for_index(5, 0.0) == Split::Train);
  int eval = 0;
  for (int i = 0; i < 10000; ++i) {
    Split s = split_for_index(i, 0.1);
    CHECK(s == split_for_index(i, 0.1));
    eval += s == Split::Eval;
  }
  CHECK(eval > 900);
  CHECK(eval < 1100);
  // Monotone in the fraction: a row in eval at 0.1 is in eval at 0.3.
  for (int i = 0; i < 1000; ++i)
    if (split_for_index(i, 0.1) == Split::Eval) CHECK(split_for_index(i, 0.3) == Split::Eval);
}

TEST_CASE("a line nested past the JSON depth limit is refused naming the line, before anything recurses") {
  // 300000 levels would overflow the stack of whatever dumps or copies the value.
  const std::string deep = R"({"prompt":)" + std::string(300000, '[') + std::string(300000, ']') + R"(,"completion":"a"})";
  CHECK(error_of(DatasetKind::Sft, deep, 3) == "line 3: JSON nested deeper than 128 levels at byte offset 137");
}

TEST_CASE("a number beyond the double range names the line and the field") {
  CHECK(error_of(DatasetKind::Preference,
                 R"({"prompt": "p", "chosen": "a", "rejected": "b", "rating": 1e400})", 3) ==
        "line 3: field 'rating': number overflow parsing '1e400'");
  CHECK(error_of(DatasetKind::Sft, R"({"messages": [{"role": "user", "content": "x", "w": -1e999}]})", 1) ==
        "line 1: field 'messages[0].w': number overflow parsing '-1e999'");
}
