// Integration: the real wb against the real workbenchd — datasets and comparisons.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "harness.h"

using nlohmann::json;
using namespace wbtest;

namespace {

// SFT rows with spaces and non-canonical key order; the canonical form is below.
const char* kSftInput =
    "{ \"messages\": [ {\"content\": \"Hi\", \"role\": \"user\"}, {\"role\":\"assistant\", \"content\":\"Hello — there\"} ] }\n"
    "{\"completion\": \"4\", \"prompt\": \"2+2?\"}\n"
    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Name a colour\"},{\"role\":\"assistant\",\"content\":\"Blue\"}]}\n"
    "{\"prompt\":\"Capital of France?\",\"completion\":\"Paris\"}";  // no final newline
const char* kSftCanonical =
    "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello — there\"}]}\n"
    "{\"prompt\":\"2+2?\",\"completion\":\"4\"}\n"
    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Name a colour\"},{\"role\":\"assistant\",\"content\":\"Blue\"}]}\n"
    "{\"prompt\":\"Capital of France?\",\"completion\":\"Paris\"}\n";

json parse_json(const ProcResult& r) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  json j = json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

}  // namespace

TEST_CASE("wb dataset import/list/show/export round trip", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path());
  write_file(tmp.path() / "sft.jsonl", kSftInput);

  ProcResult r = wb(d.socket(), {"dataset", "import", "chat", (tmp.path() / "sft.jsonl").string(), "--kind", "sft",
                                 "--eval-fraction", "0.25"});
  INFO(r.err << d.log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("imported dataset 'chat' (sft): 4 rows") != std::string::npos);

  r = wb(d.socket(), {"dataset", "list"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("NAME", 0) == 0);
  CHECK(r.out.find("chat") != std::string::npos);

  r = wb(d.socket(), {"dataset", "show", "chat", "--rows", "2", "--offset", "1"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("kind:") != std::string::npos);
  CHECK(r.out.find("rows 2 of 4") != std::string::npos);
  CHECK(r.out.find("2+2?") != std::string::npos);

  // Export to stdout is the canonical JSONL, byte for byte.
  r = wb(d.socket(), {"dataset", "export", "chat"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == kSftCanonical);

  // Export to a file: same bytes, a summary on stdout.
  const auto out_file = tmp.path() / "out" / "chat.jsonl";
  std::filesystem::create_directories(out_file.parent_path());
  r = wb(d.socket(), {"dataset", "export", "chat", "-o", out_file.string()});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "exported 4 rows to " + out_file.string() + "\n");
  CHECK(read_file(out_file) == kSftCanonical);
  CHECK_FALSE(std::filesystem::exists(out_file.string() + ".tmp"));

  // Re-importing the export (from stdin this time) gives the same bytes again: a fixed point.
  r = wb(d.socket(), {"dataset", "import", "chat2", "-", "--kind", "sft"}, kSftCanonical);
  REQUIRE(r.exit_code == 0);
  r = wb(d.socket(), {"dataset", "export", "chat2"});
  CHECK(r.out == kSftCanonical);

  // Split counts add up; --split filters rows.
  json rec = parse_json(wb(d.socket(), {"--json", "dataset", "show", "chat"}));
  CHECK(rec["rows"] == 4);
  CHECK(rec["train_rows"].get<int>() + rec["eval_rows"].get<int>() == 4);
  json ev = parse_json(wb(d.socket(), {"dataset", "show", "chat", "--split", "eval", "--json"}));
  CHECK(ev["total"] == rec["eval_rows"]);
  for (const auto& row : ev["rows"]) CHECK(row["split"] == "eval");

  // Delete, then it is gone (exit 1 with the daemon's message).
  r = wb(d.socket(), {"dataset", "delete", "chat2"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "deleted dataset 'chat2'\n");
  r = wb(d.socket(), {"dataset", "show", "chat2"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("chat2") != std::string::npos);
}

TEST_CASE("wb dataset import: a bad line exits 1 naming the line and stores nothing", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path());
  const auto good = tmp.path() / "good.jsonl";
  const auto bad = tmp.path() / "bad.jsonl";
  write_file(good, "{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\",\"rating\":2}\n");
  write_file(bad,
             "{\"prompt\":\"p1\",\"chosen\":\"a\",\"rejected\":\"b\"}\n"
             "{\"prompt\":\"p2\",\"chosen\":\"a\",\"rejected\":\"b\"}\n"
             "{\"prompt\":\"p3\",\"chosen\":\"a\",\"rejected\":\"b\",\"rating\":7}\n");

  ProcResult r = wb(d.socket(), {"dataset", "import", "prefs", bad.string(), "--kind", "preference"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("line 3") != std::string::npos);
  CHECK(r.err.find("rating") != std::string::npos);
  CHECK(r.out.empty());
  r = wb(d.socket(), {"dataset", "list"});
  CHECK(r.out == "no datasets\n");

  // --json: the error is machine-readable too.
  r = wb(d.socket(), {"--json", "dataset", "import", "prefs", bad.string(), "--kind", "preference"});
  CHECK(r.exit_code == 1);
  json e = parse_json(r);
  CHECK(e["error"]["code"] == "invalid_dataset");
  CHECK(e["error"]["message"].get<std::string>().rfind("line 3", 0) == 0);

  // A failed --replace keeps the existing rows.
  REQUIRE(wb(d.socket(), {"dataset", "import", "prefs", good.string(), "--kind", "preference"}).exit_code == 0);
  r = wb(d.socket(), {"dataset", "import", "prefs", bad.string(), "--kind", "preference", "--replace"});
  CHECK(r.exit_code == 1);
  r = wb(d.socket(), {"dataset", "export", "prefs"});
  CHECK(r.out == "{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\",\"rating\":2}\n");
  // Without --replace an existing name is a conflict.
  r = wb(d.socket(), {"dataset", "import", "prefs", good.string(), "--kind", "preference"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "wb: dataset 'prefs' already exists; --replace swaps in the new rows\n");

  // A missing file is reported by wb itself.
  r = wb(d.socket(), {"dataset", "import", "x", (tmp.path() / "nope.jsonl").string(), "--kind", "sft"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("nope.jsonl") != std::string::npos);
}

TEST_CASE("wb comparison add/list/export", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path());
  ProcResult r = wb(d.socket(), {"comparison", "add", "--dataset", "labels", "--prompt", "How do I boil an egg?",
                                 "--a", "Put it in boiling water for 9 minutes.", "--b", "Eggs are round.",
                                 "--chosen", "a", "--rating", "3", "--safety", "both_safe", "--annotator", "alice"});
  INFO(r.err << d.log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("added comparison") != std::string::npos);
  r = wb(d.socket(), {"comparison", "add", "--dataset", "labels", "--prompt", "How do I pick a lock?", "--a",
                      "Here is how...", "--b", "I can't help with that.", "--chosen", "b", "--rating", "2",
                      "--safety", "chosen_safe", "--safety-prompt", "--annotator", "bob", "--model-a",
                      "base", "--model-b", "chat-lora", "--seconds", "4.5", "--json"});
  REQUIRE(r.exit_code == 0);
  {
    const auto rec = nlohmann::json::parse(r.out);
    CHECK(rec.at("model_a") == "base");
    CHECK(rec.at("model_b") == "chat-lora");
    CHECK(rec.at("seconds").get<double>() == 4.5);
  }

  r = wb(d.socket(), {"comparison", "list", "--dataset", "labels"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("alice") != std::string::npos);
  CHECK(r.out.find("bob") != std::string::npos);
  CHECK(r.out.find("2 of 2 comparisons") != std::string::npos);

  r = wb(d.socket(), {"comparison", "export", "--dataset", "labels"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "{\"prompt\":\"How do I boil an egg?\",\"chosen\":\"Put it in boiling water for 9 minutes.\","
        "\"rejected\":\"Eggs are round.\",\"rating\":3,\"safety\":\"both_safe\",\"is_safety_prompt\":false}\n"
        "{\"prompt\":\"How do I pick a lock?\",\"chosen\":\"I can't help with that.\",\"rejected\":\"Here is how...\","
        "\"rating\":2,\"safety\":\"chosen_safe\",\"is_safety_prompt\":true}\n");

  // Bad values are usage errors caught before the daemon is asked.
  r = wb(d.socket(), {"comparison", "add", "--dataset", "labels", "--prompt", "p", "--a", "x", "--b", "y",
                      "--chosen", "c", "--rating", "1", "--safety", "both_safe"});
  CHECK(r.exit_code == 2);
  r = wb(d.socket(), {"comparison", "add", "--dataset", "labels", "--prompt", "p", "--a", "x", "--b", "y",
                      "--chosen", "a", "--rating", "4", "--safety", "both_safe"});
  CHECK(r.exit_code == 2);
}

TEST_CASE("wb dataset import --kind text reads plain text, per line or as one document", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path());
  write_file(tmp.path() / "corpus.txt", "The sky is blue.\n\nGrass is \"green\".\r\nSnow is white.");
  ProcResult r = wb(d.socket(), {"dataset", "import", "corpus", (tmp.path() / "corpus.txt").string(), "--kind", "text"});
  INFO(r.err << d.log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("imported dataset 'corpus' (text): 3 rows") != std::string::npos);
  r = wb(d.socket(), {"dataset", "export", "corpus"});
  CHECK(r.out == "{\"text\":\"The sky is blue.\"}\n{\"text\":\"Grass is \\\"green\\\".\"}\n{\"text\":\"Snow is white.\"}\n");

  r = wb(d.socket(), {"dataset", "import", "book", (tmp.path() / "corpus.txt").string(), "--kind", "text", "--document"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("(text): 1 rows") != std::string::npos);
  // The export is JSONL: it imports back as kind text (a .jsonl file holds rows).
  r = wb(d.socket(), {"dataset", "export", "corpus", "-o", (tmp.path() / "corpus.jsonl").string()});
  REQUIRE(r.exit_code == 0);
  r = wb(d.socket(), {"dataset", "import", "again", (tmp.path() / "corpus.jsonl").string(), "--kind", "text"});
  CHECK(r.out.find("(text): 3 rows") != std::string::npos);

  // --document is for text only; plain text as another kind is refused naming the field.
  r = wb(d.socket(), {"dataset", "import", "x", (tmp.path() / "corpus.txt").string(), "--kind", "prompt", "--document"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--document") != std::string::npos);
  r = wb(d.socket(), {"dataset", "import", "x", (tmp.path() / "corpus.txt").string(), "--kind", "prompt"});
  CHECK(r.exit_code == 1);
  auto raw = wb(d.socket(), {"--json", "dataset", "list"});
  CHECK(raw.out.find("\"x\"") == std::string::npos);  // nothing stored
}
