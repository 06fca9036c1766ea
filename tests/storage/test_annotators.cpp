// Annotators and their tokens (only a hash is stored), SHA-256, and Cohen's kappa between two
// annotators in the label stats; every case on a real SQLite file.
#include <catch2/catch.hpp>

#include <set>

#include "storage_test_util.h"
#include "wb/storage/migrations.h"
#include "wb/storage/sha256.h"

using namespace wb::storage;
using wb::storage::test::read_file;
using wb::storage::test::TempDir;

TEST_CASE("sha256 matches the FIPS 180-4 example vectors") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // 56..63 bytes: the length no longer fits the first padded block.
  CHECK(sha256_hex(std::string(60, 'a')) == "11ee391211c6256460b6ed375957fadd8061cafbb31daf967db875aebd5aaad4");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("an annotator's token is shown once, stored only as its hash, and finds its annotator") {
  TempDir dir;
  std::string token;
  {
    Store store(dir / "wb.db");
    auto added = store.annotators().add("alice");
    token = added.token;
    CHECK(token.size() == 64);
    CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(added.annotator.name == "alice");
    CHECK(added.annotator.labels == 0);
    CHECK(store.annotators().find_by_token(token) == std::optional<std::string>("alice"));
    CHECK_FALSE(store.annotators().find_by_token(token.substr(1)));
    CHECK_FALSE(store.annotators().find_by_token(""));
    CHECK_FALSE(store.annotators().find_by_token(sha256_hex(token)));  // the stored hash is no token
    auto bob = store.annotators().add("bob");
    CHECK(bob.token != token);
    CHECK_THROWS_AS(store.annotators().add("alice"), Conflict);
    CHECK_THROWS_AS(store.annotators().add("no spaces"), Invalid);
  }
  // The token is nowhere in the database file (or its WAL).
  for (const char* f : {"wb.db", "wb.db-wal"})
    if (std::filesystem::exists(dir / f)) CHECK(read_file(dir / f).find(token) == std::string::npos);
  Store store(dir / "wb.db");
  CHECK(store.annotators().find_by_token(token) == std::optional<std::string>("alice"));
  auto list = store.annotators().list();
  REQUIRE(list.size() == 2);
  CHECK(list[0].name == "alice");
  CHECK(list[1].name == "bob");
  store.annotators().remove("alice");
  CHECK_FALSE(store.annotators().find_by_token(token));
  CHECK_THROWS_AS(store.annotators().remove("alice"), NotFound);
  CHECK_THROWS_AS(store.annotators().get("alice"), NotFound);
}

namespace {

// One label of the pair (prompt p, responses "x" < "y") preferring `first` ("x") or not; the
// side the response appears on is varied, as shuffled sides do.
void label(Store& store, const std::string& annotator, const std::string& prompt, bool first, bool x_on_a) {
  nlohmann::json b = {{"dataset", "prefs"},          {"prompt", prompt},
                      {"response_a", x_on_a ? "x" : "y"}, {"response_b", x_on_a ? "y" : "x"},
                      {"chosen", (first == x_on_a) ? "a" : "b"}, {"rating", 1},
                      {"safety", "both_safe"},       {"is_safety_prompt", false},
                      {"annotator", annotator},      {"source", "human"}};
  store.comparisons().insert(ComparisonRepository::parse(b));
}

}  // namespace

TEST_CASE("label stats give Cohen's kappa for every two annotators, each one's latest label counting") {
  TempDir dir;
  Store store(dir / "wb.db");
  store.annotators().add("alice");
  // alice: first, second, first, first; bob: first, second, second, first (worked by hand:
  // p_o = 3/4, alice prefers the first 3/4 of the time, bob 2/4, p_e = 3/8 + 1/8 = 1/2,
  // kappa = (3/4 - 1/2) / (1/2) = 1/2).
  label(store, "alice", "p1", true, true);
  label(store, "bob", "p1", true, false);
  label(store, "alice", "p2", true, true);   // replaced by alice's later label of p2
  label(store, "alice", "p2", false, false);
  label(store, "bob", "p2", false, true);
  label(store, "alice", "p3", true, false);
  label(store, "bob", "p3", false, false);
  label(store, "alice", "p4", true, true);
  label(store, "bob", "p4", true, true);
  label(store, "carol", "p1", true, true);   // carol and alice share one pair and agree: p_e = 1
  label(store, "dave", "p5", true, true);    // nobody else labeled p5
  const LabelStats s = store.comparisons().stats("prefs");
  REQUIRE(s.annotator_couples.size() == 3);
  const AnnotatorCouple& ab = s.annotator_couples[0];
  CHECK(ab.first == "alice");
  CHECK(ab.second == "bob");
  CHECK(ab.pairs == 4);
  CHECK(ab.same_preference == 3);
  REQUIRE(ab.kappa);
  CHECK(*ab.kappa == Approx(0.5));
  const AnnotatorCouple& ac = s.annotator_couples[1];
  CHECK(ac.first == "alice");
  CHECK(ac.second == "carol");
  CHECK(ac.pairs == 1);
  CHECK_FALSE(ac.kappa);
  CHECK(s.annotator_couples[2].first == "bob");
  CHECK(s.annotator_couples[2].second == "carol");
  CHECK(store.annotators().get("alice").labels == 5);
}

TEST_CASE("Version 6 adds annotators to a version 5 file, keeping its comparisons") {
  TempDir dir;
  {
    Database db(dir / "wb.db");
    CHECK(migrate(db, schema_migrations().first(5)) == 5);
    db.exec("INSERT INTO datasets (name, kind, rows, created) VALUES ('prefs', 'preference', 0, '2026-01-01T00:00:00Z')");
    db.exec("INSERT INTO comparisons (dataset_id, row_index, prompt, response_a, response_b, chosen, rating, safety, "
            "is_safety_prompt, annotator, source, created) VALUES (1, 0, 'p', 'x', 'y', 'a', 1, 'both_safe', 0, "
            "'alice', 'human', '2026-01-01T00:00:00Z')");
  }
  Store store(dir / "wb.db");
  CHECK(store.schema_version() == latest_schema_version());
  CHECK(wb::storage::test::count_rows(store, "comparisons") == 1);
  store.annotators().add("alice");
  CHECK(store.annotators().get("alice").labels == 1);  // the earlier label counts for the name
}
