// Router and strict JSON body parsing, without a socket.
#include <catch2/catch.hpp>

#include "http/api_error.h"
#include "http/json_body.h"
#include "http/router.h"

using namespace wb::daemon;

static int status_of(Router& r, const std::string& method, const std::string& path, std::string* msg = nullptr) {
  Request q;
  q.method = method;
  q.path = path;
  try {
    return r.dispatch(q).status;
  } catch (const ApiError& e) {
    if (msg) *msg = e.what();
    return e.status();
  }
}

TEST_CASE("router matches literals before captures and reports 404/405", "[router]") {
  Router r;
  std::string seen;
  r.add("GET", "/v1/jobs/{id}", [&](Request& q) { seen = "job " + q.params["id"]; return Response{}; });
  r.add("GET", "/v1/jobs/{id}/events", [&](Request& q) { seen = "events " + q.params["id"]; return Response{}; });
  r.add("GET", "/v1/comparisons/export", [&](Request&) { seen = "export"; return Response{}; });
  r.add("GET", "/v1/comparisons/{x}", [&](Request&) { seen = "capture"; return Response{}; });
  CHECK(status_of(r, "GET", "/v1/jobs/17") == 200);
  CHECK(seen == "job 17");
  CHECK(status_of(r, "GET", "/v1/jobs/17/events") == 200);
  CHECK(seen == "events 17");
  CHECK(status_of(r, "GET", "/v1/comparisons/export") == 200);
  CHECK(seen == "export");
  std::string msg;
  CHECK(status_of(r, "DELETE", "/v1/jobs/3", &msg) == 405);
  CHECK_THAT(msg, Catch::Contains("allowed: GET"));
  CHECK(status_of(r, "GET", "/v1/nope", &msg) == 404);
  CHECK(status_of(r, "GET", "/v1/jobs/a%2Fb") == 200);
  CHECK(seen == "job a/b");
}

TEST_CASE("url_decode handles escapes and plus", "[router]") {
  CHECK(url_decode("a%20b+c", true) == "a b c");
  CHECK(url_decode("a+b", false) == "a+b");
  CHECK(url_decode("bad%2", false) == "bad%2");
  CHECK(url_decode("%zz", false) == "%zz");
}

TEST_CASE("parse_json_body names the byte offset", "[json]") {
  try {
    parse_json_body("{\"a\": tru}");
    FAIL("no throw");
  } catch (const ApiError& e) {
    CHECK(e.status() == 400);
    CHECK(e.code() == "invalid_json");
    CHECK_THAT(e.what(), Catch::Contains("byte offset"));
  }
  CHECK_THROWS_AS(parse_json_body(""), ApiError);
}

TEST_CASE("body_fields rejects unknown fields and wrong types naming them", "[json]") {
  auto j = nlohmann::json::parse(R"({"name":"x","n":5,"flag":true,"extra":1})");
  CHECK_THROWS_WITH(body_fields(j, {"name", "n", "flag"}), Catch::Contains("field 'extra': unknown field"));
  j.erase("extra");
  wb::JsonReader f = body_fields(j, {"name", "n", "flag", "opt"});
  CHECK(f.string("name") == "x");
  CHECK(f.integer_or("n", 0, 0, 10) == 5);
  CHECK_THROWS_WITH(f.integer_or("n", 0, 6, 10), Catch::Contains("field 'n': expected an integer 6..10, got 5"));
  CHECK_THROWS_WITH(f.string("n"), Catch::Contains("field 'n': expected a string, got 5"));
  CHECK_THROWS_WITH(f.number_or("flag", 0, 0, 1), Catch::Contains("field 'flag': expected a number 0..1, got true"));
  CHECK_THROWS_WITH(f.string("opt"), Catch::Contains("field 'opt': is required"));
  CHECK(f.boolean_or("flag", false));
  const nlohmann::json not_an_object = nlohmann::json::array();
  CHECK_THROWS_AS(body_fields(not_an_object, {}), wb::JsonFieldError);
}

TEST_CASE("parse_json_body refuses nesting beyond the limit before anything recurses", "[json]") {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  try {
    parse_json_body(deep);
    FAIL("a 200000-deep body was accepted");
  } catch (const ApiError& e) {
    CHECK(e.status() == 400);
    CHECK(e.code() == "invalid_json");
    CHECK_THAT(e.what(), Catch::Contains("nested deeper than 128 levels at byte offset 128"));
  }
}
