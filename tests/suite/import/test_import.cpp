// Every generated JSONL file passes the storage layer's strict dataset validation (the same
// code `POST /v1/datasets` runs) under the kind the manifest names, and is already canonical.
#include <catch2/catch.hpp>

#include <sstream>

#include "wb/storage/dataset_format.h"
#include "wb/storage/records.h"
#include "wb/suite/generator.h"

using namespace wb;

TEST_CASE("generated files import as the dataset kind the manifest names", "[suite][import]") {
  const suite::Generated g = suite::generate(17, suite::Sizes::small());
  const auto manifest = nlohmann::json::parse(g.files.at("manifest.json"));
  int checked = 0;
  for (const auto& [name, entry] : manifest["files"].items()) {
    if (entry["kind"] == "text") continue;
    INFO(name);
    const auto kind = storage::parse_dataset_kind(entry["kind"].get<std::string>());
    REQUIRE(kind);
    const std::string& text = g.files.at(name);
    std::vector<std::string> rows;
    REQUIRE_NOTHROW(rows = storage::parse_jsonl(*kind, text));
    CHECK(rows.size() == entry["rows"].get<size_t>());
    // Canonical already: joining the canonical rows gives back the file.
    std::string joined;
    for (const auto& r : rows) joined += r + "\n";
    CHECK(joined == text);
    ++checked;
  }
  CHECK(checked == 14);  // every JSONL file, dialogues, sft_persona_train and rlhf_eval.jsonl included
}
