// --set key=value parsing for `wb job submit` (set_parser.h).
#include <catch2/catch.hpp>

#include "wb/cli/errors.h"
#include "wb/cli/set_parser.h"

using nlohmann::json;
using wb::cli::apply_set;
using wb::cli::apply_sets;
using wb::cli::UsageError;

TEST_CASE("set parser: values parse as JSON when they parse", "[set]") {
  json s = apply_sets(json::object(), {"steps=10", "lr=2e-5", "lora=true", "none=null",
                                       "targets=[\"q_proj\",\"v_proj\"]", "obj={\"a\":1}"});
  CHECK(s["steps"] == 10);
  CHECK(s["steps"].is_number_integer());
  CHECK(s["lr"].get<double>() == Approx(2e-5));
  CHECK(s["lora"] == true);
  CHECK(s["none"].is_null());
  CHECK(s["targets"] == json::array({"q_proj", "v_proj"}));
  CHECK(s["obj"] == json({{"a", 1}}));
}

TEST_CASE("set parser: values that do not parse are strings", "[set]") {
  json s = apply_sets(json::object(), {"name=run one", "model=tiny-llama", "ver=1.2.3", "empty=",
                                       "quoted=\"42\"", "eq=a=b", "brace={oops"});
  CHECK(s["name"] == "run one");
  CHECK(s["model"] == "tiny-llama");
  CHECK(s["ver"] == "1.2.3");
  CHECK(s["empty"] == "");
  CHECK(s["quoted"] == "42");  // quoting forces a string
  CHECK(s["eq"] == "a=b");     // only the first '=' splits
  CHECK(s["brace"] == "{oops");
}

TEST_CASE("set parser: dotted keys make nested objects and merge", "[set]") {
  json base = {{"lora", {{"rank", 4}, {"alpha", 8}}}, {"steps", 1}};
  json s = apply_sets(base, {"lora.rank=16", "lora.targets.q=true", "optim.lr=0.001", "steps=5"});
  CHECK(s["lora"]["rank"] == 16);
  CHECK(s["lora"]["alpha"] == 8);  // kept from the --spec base
  CHECK(s["lora"]["targets"]["q"] == true);
  CHECK(s["optim"]["lr"].get<double>() == Approx(0.001));
  CHECK(s["steps"] == 5);  // later wins
}

TEST_CASE("set parser: malformed assignments are rejected with a message naming them", "[set]") {
  json s = json::object();
  auto msg_of = [&](const char* a) {
    try {
      apply_set(s, a);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(msg_of("noequals") == "--set 'noequals': expected key=value");
  CHECK(msg_of("=5") == "--set '=5': empty key");
  CHECK(msg_of("a..b=1").find("empty segment in key 'a..b'") != std::string::npos);
  CHECK(msg_of(".a=1").find("empty segment") != std::string::npos);
  CHECK(msg_of("a.=1").find("empty segment") != std::string::npos);
  apply_set(s, "x=3");
  CHECK(msg_of("x.y=1").find("'x' is already set to a non-object value") != std::string::npos);
  CHECK(s == json({{"x", 3}}));  // failed assignments leave no trace
}

TEST_CASE("apply_sets on null base starts from an empty object", "[set]") {
  CHECK(apply_sets(json(), {}) == json::object());
  CHECK(apply_sets(json(), {"a.b.c=1"}) == json::parse(R"({"a":{"b":{"c":1}}})"));
}
