// Models and adapters: register, get, list, delete, unique names, strict parsing.
#include <catch2/catch.hpp>

#include "storage_test_util.h"

using namespace wb::storage;
using wb::storage::test::TempDir;

TEST_CASE("models: add, get, list, remove, names are unique") {
  TempDir dir;
  Store store(dir / "wb.db");
  NewModel m;
  m.name = "tiny";
  m.path = "/data/models/tiny";
  m.config = {{"dim", 64}, {"n_layers", 2}};
  m.dtype = "f32";
  m.hash = "abc123";
  auto rec = store.models().add(m);
  CHECK(rec.name == "tiny");
  CHECK(rec.config["dim"] == 64);
  CHECK(rec.created.size() == 20);
  try {
    store.models().add(m);
    FAIL("duplicate");
  } catch (const Conflict& e) {
    CHECK(std::string(e.what()) == "model 'tiny' already exists");
  }
  m.name = "alpha";
  store.models().add(m);
  auto all = store.models().list();
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == "alpha");
  nlohmann::json j = store.models().get("tiny");
  CHECK(j == nlohmann::json{{"name", "tiny"}, {"path", "/data/models/tiny"}, {"config", {{"dim", 64}, {"n_layers", 2}}},
                            {"dtype", "f32"}, {"hash", "abc123"}, {"created", rec.created}});
  store.models().remove("tiny");
  CHECK_THROWS_AS(store.models().get("tiny"), NotFound);
  CHECK_THROWS_AS(store.models().remove("tiny"), NotFound);
  CHECK(store.models().count() == 1);
}

TEST_CASE("models: parse and validation") {
  auto m = ModelRepository::parse({{"name", "m"}, {"path", "/p"}, {"dtype", "bf16"}, {"config", {{"dim", 8}}}});
  CHECK(m.dtype == "bf16");
  CHECK(m.hash.empty());
  auto err = [](const nlohmann::json& j) {
    try {
      ModelRepository::parse(j);
      return std::string();
    } catch (const Invalid& e) {
      return std::string(e.what());
    }
  };
  CHECK(err({{"name", "m"}, {"path", "/p"}}) == "field 'dtype': is required");
  CHECK(err({{"name", "m"}, {"path", "/p"}, {"dtype", "f32"}, {"config", 3}}) == "field 'config': expected an object, got 3");
  CHECK(err({{"name", "m"}, {"path", "/p"}, {"dtype", "f32"}, {"size", 3}}) == "field 'size': unknown field");

  TempDir dir;
  Store store(dir / "wb.db");
  NewModel bad;
  bad.name = "ok";
  bad.dtype = "f32";
  CHECK_THROWS_AS(store.models().add(bad), Invalid);  // empty path
  bad.path = "/p";
  bad.name = "no spaces";
  CHECK_THROWS_AS(store.models().add(bad), Invalid);
  CHECK(store.models().count() == 0);
}

TEST_CASE("adapters: add, get, list, remove, job link, unique names") {
  TempDir dir;
  Store store(dir / "wb.db");
  auto job = store.jobs().create("sft", nlohmann::json::object()).id;
  auto a = AdapterRepository::parse({{"name", "helpful-rm"},
                                     {"path", "/data/adapters/helpful-rm"},
                                     {"base_model", "tiny"},
                                     {"job", job},
                                     {"rank", 8},
                                     {"alpha", 16},
                                     {"target_modules", {"q_proj", "v_proj"}},
                                     {"kind", "reward_helpfulness"}});
  auto rec = store.adapters().add(a);
  CHECK(rec.kind == AdapterKind::RewardHelpfulness);
  CHECK(rec.job == std::optional<std::int64_t>(job));
  CHECK(rec.target_modules == std::vector<std::string>{"q_proj", "v_proj"});
  CHECK_THROWS_AS(store.adapters().add(a), Conflict);

  nlohmann::json j = store.adapters().get("helpful-rm");
  CHECK(j["kind"] == "reward_helpfulness");
  CHECK(j["rank"] == 8);
  CHECK(j["alpha"] == 16.0);
  CHECK(j["target_modules"] == nlohmann::json{"q_proj", "v_proj"});

  a.name = "orphan";
  a.job = 999;
  CHECK_THROWS_AS(store.adapters().add(a), Invalid);
  a.job.reset();
  a.kind = AdapterKind::Value;
  CHECK(store.adapters().add(a).job == std::nullopt);
  CHECK(store.adapters().list().size() == 2);
  store.adapters().remove("orphan");
  CHECK_FALSE(store.adapters().find("orphan"));
  CHECK(store.adapters().count() == 1);
}

TEST_CASE("adapters: parse and validation") {
  auto err = [](nlohmann::json j) {
    try {
      AdapterRepository::parse(j);
      return std::string();
    } catch (const Invalid& e) {
      return std::string(e.what());
    }
  };
  nlohmann::json good = {{"name", "a"}, {"path", "/p"}, {"base_model", "m"}, {"rank", 4},
                         {"alpha", 8.0}, {"target_modules", {"q_proj"}}, {"kind", "policy"}};
  CHECK(err(good).empty());
  auto j = good;
  j["kind"] = "critic";
  CHECK(err(j) == "field 'kind': expected one of policy, reward_helpfulness, reward_safety, value, got \"critic\"");
  j = good;
  j["rank"] = 0;
  CHECK(err(j).rfind("field 'rank': expected an integer 1..", 0) == 0);
  j = good;
  j["target_modules"] = nlohmann::json::array();
  CHECK(err(j) == "field 'target_modules': expected a non-empty array of strings, got []");
  j = good;
  j["alpha"] = -1;
  CHECK(err(j).rfind("field 'alpha': expected a number", 0) == 0);

  TempDir dir;
  Store store(dir / "wb.db");
  NewAdapter a = AdapterRepository::parse(good);
  a.rank = -2;
  CHECK_THROWS_AS(store.adapters().add(a), Invalid);
  CHECK(store.adapters().count() == 0);
}

TEST_CASE("adapters: a name may carry one @version, both parts by the name rules") {
  TempDir dir;
  Store store(dir / "wb.db");
  NewAdapter a;
  a.path = "/shared/support@3";
  a.base_model = "tiny";
  a.rank = 4;
  a.alpha = 8;
  a.target_modules = {"q_proj"};
  a.name = "support@3";
  CHECK(store.adapters().add(a).name == "support@3");
  CHECK(store.adapters().get("support@3").path == "/shared/support@3");
  CHECK(is_versioned_adapter_name("support@3"));
  CHECK_FALSE(is_versioned_adapter_name("support"));
  for (const char* bad : {"support@", "@3", "a@b@c", "../x@1", "x@../1", "x@1/y", ".x@1", "x@.1"}) {
    INFO(bad);
    CHECK_FALSE(is_versioned_adapter_name(bad));
    a.name = bad;
    CHECK_THROWS_AS(store.adapters().add(a), Invalid);
  }
  // Models and datasets keep the plain rules.
  CHECK_THROWS_AS(validate_name("support@3"), Invalid);
  CHECK(store.adapters().count() == 1);
}
