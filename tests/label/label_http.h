// label_http.h — JSON requests to the daemon under test that REQUIRE the expected status.
#pragma once

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "unix_http.h"

namespace labeltest {

inline nlohmann::json get_json(const std::string& socket, const std::string& target, int expect = 200) {
  wbtest::HttpResult r = wbtest::http(socket, "GET", target);
  INFO(target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == expect);
  return nlohmann::json::parse(r.body);
}

inline nlohmann::json post_json(const std::string& socket, const std::string& target, const nlohmann::json& body,
                                int expect) {
  wbtest::HttpResult r = wbtest::http(socket, "POST", target, body.dump());
  INFO(target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == expect);
  return nlohmann::json::parse(r.body);
}

}  // namespace labeltest
