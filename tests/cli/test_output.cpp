// Tables, cells and truncation (output.h); URL encoding and daemon error mapping (daemon_client.h).
#include <catch2/catch.hpp>

#include <sstream>

#include "wb/cli/daemon_client.h"
#include "wb/cli/errors.h"
#include "wb/cli/output.h"

using nlohmann::json;
using namespace wb::cli;

TEST_CASE("Table aligns columns to the widest cell", "[output]") {
  Table t({"ID", "NAME"});
  t.add_row({"1", "alpha"});
  t.add_row({"200", "b"});
  t.add_row({"3"});  // missing cells print empty
  std::ostringstream os;
  t.print(os);
  CHECK(os.str() == "ID   NAME\n1    alpha\n200  b\n3    \n");
  CHECK_THROWS(t.add_row({"1", "2", "3"}));
}

TEST_CASE("Table counts UTF-8 code points not bytes", "[output]") {
  Table t({"A", "B"});
  t.add_row({"héllo", "x"});
  std::ostringstream os;
  t.print(os);
  CHECK(os.str() == "A      B\nhéllo  x\n");
}

TEST_CASE("shorten cuts to a width and flattens newlines", "[output]") {
  CHECK(shorten("short", 10) == "short");
  CHECK(shorten("abcdefghij", 8) == "abcde...");
  CHECK(shorten("a\nb", 10) == "a b");
  CHECK(shorten("ééééé", 4) == "é...");
  CHECK(display_width("ééé") == 3);
}

TEST_CASE("cell renders JSON values for humans", "[output]") {
  json o = {{"s", "text"}, {"n", 3}, {"b", true}, {"z", nullptr}, {"a", {1, 2}}};
  CHECK(cell(o, "s") == "text");
  CHECK(cell(o, "n") == "3");
  CHECK(cell(o, "b") == "yes");
  CHECK(cell(o, "z") == "-");
  CHECK(cell(o, "missing") == "-");
  CHECK(cell(o, "a") == "[1,2]");
  CHECK(cell(json(5), "x") == "-");
}

TEST_CASE("url_encode keeps unreserved characters only", "[output]") {
  CHECK(url_encode("hh-rlhf_v1.2~") == "hh-rlhf_v1.2~");
  CHECK(url_encode("a b/c?d&e") == "a%20b%2Fc%3Fd%26e");
  CHECK(url_encode("é") == "%C3%A9");
}

TEST_CASE("daemon errors carry the daemon's code and message", "[output]") {
  DaemonError e = daemon_error_from(
      400, R"({"error":{"code":"invalid_dataset","message":"line 3: field 'chosen': missing"}})");
  CHECK(e.http_status() == 400);
  CHECK(e.code() == "invalid_dataset");
  CHECK(std::string(e.what()) == "line 3: field 'chosen': missing");
  DaemonError raw = daemon_error_from(502, "Bad Gateway");
  CHECK(raw.code() == "http_502");
  CHECK(std::string(raw.what()) == "workbenchd answered HTTP 502: Bad Gateway");
}

TEST_CASE("a request with text that is not UTF-8 is refused before connecting", "[output]") {
  DaemonClient c("/nonexistent/wb.sock");
  try {
    c.post("/v1/comparisons", {{"prompt", std::string("caf\xe9")}});
    FAIL("no error");
  } catch (const ConnectError&) {
    FAIL("tried to connect");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("not valid UTF-8") != std::string::npos);
  }
}
