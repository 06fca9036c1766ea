// Integration: exit codes, the daemon-not-running message, --socket/$WB_SOCKET, and --json on
// every command parsing as JSON — the real wb against the real workbenchd.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "harness.h"

using nlohmann::json;
using namespace wbtest;

TEST_CASE("wb with no daemon: exit 1 and a clear message", "[cli][integration]") {
  TempDir tmp;
  const std::string sock = (tmp.path() / "absent.sock").string();
  ProcResult r = wb(sock, {"status"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "wb: cannot connect to workbenchd at " + sock +
                     ": No such file or directory; start it with `workbenchd`\n");

  // --json: the same error as a JSON object on stdout.
  r = wb(sock, {"--json", "jobs"});
  CHECK(r.exit_code == 1);
  json j = json::parse(r.out);
  CHECK(j["error"]["code"] == "connect");
  CHECK(j["error"]["message"].get<std::string>().find(sock) != std::string::npos);

  // $WB_SOCKET is used when --socket is absent.
  r = run_process({wb_binary(), "status"}, "", {{"WB_SOCKET", sock}});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("at " + sock + ":") != std::string::npos);
}

TEST_CASE("wb usage errors exit 2 while --version and --help exit 0", "[cli][integration]") {
  TempDir tmp;
  const std::string sock = (tmp.path() / "absent.sock").string();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"dataset"},
           {"dataset", "import", "x"},
           {"dataset", "import", "x", "f.jsonl", "--kind", "nonsense"},
           {"dataset", "import", "x", "f.jsonl", "--kind", "sft", "--eval-fraction", "0.9"},
           {"dataset", "show", "x", "--rows", "0"},
           {"job", "show", "abc"},
           {"job", "submit"},
           {"job", "submit", "sleep", "--set", "novalue"},
           {"job", "submit", "sleep", "--set", "a..b=1"},
           {"jobs", "--state", "sleeping"},
           {"status", "--bogus"},
       }) {
    ProcResult r = wb(sock, args);
    INFO("wb " << [&] { std::string s; for (auto& a : args) s += a + " "; return s; }() << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(r.err.empty());
  }
  // An unknown command is named as such (not "A subcommand is required").
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"frobnicate"}, {"--socket", sock, "frobnicate"}, {"model", "frobnicate"}}) {
    ProcResult r = wb(sock, args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("unknown command '" + std::string(args.size() == 2 ? "model " : "") + "frobnicate'") != std::string::npos);
  }
  // With --json, a usage error is also a JSON object on stdout.
  ProcResult uj = wb(sock, {"--json", "job", "show", "abc"});
  CHECK(uj.exit_code == 2);
  CHECK(json::parse(uj.out)["error"]["code"] == "usage");

  ProcResult v = run_process({wb_binary(), "--version"});
  CHECK(v.exit_code == 0);
  CHECK(v.out.rfind("wb ", 0) == 0);
  ProcResult h = run_process({wb_binary(), "--help"});
  CHECK(h.exit_code == 0);
  for (const char* group : {"status", "dataset", "comparison", "job", "jobs"})
    CHECK(h.out.find(group) != std::string::npos);
}

TEST_CASE("wb --json output parses on every command", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path());
  write_file(tmp.path() / "p.jsonl", "{\"prompt\":\"Say hi\"}\n{\"prompt\":\"Say bye\",\"system\":\"Be kind\"}\n");
  const std::string out = (tmp.path() / "export.jsonl").string();

  auto check_json = [&](std::vector<std::string> args, int want_rc = 0) {
    args.insert(args.begin(), "--json");
    ProcResult r = wb(d.socket(), args);
    INFO("wb " << [&] { std::string s; for (auto& a : args) s += a + " "; return s; }() << "\nstdout: " << r.out
               << "\nstderr: " << r.err);
    CHECK(r.exit_code == want_rc);
    json j = json::parse(r.out, nullptr, false);
    CHECK_FALSE(j.is_discarded());
    return j;
  };

  json st = check_json({"status"});
  CHECK(st.contains("version"));
  CHECK(st["plugins"].is_array());
  json imp = check_json({"dataset", "import", "prompts", (tmp.path() / "p.jsonl").string(), "--kind", "prompt"});
  CHECK(imp["rows"] == 2);
  CHECK(check_json({"dataset", "list"})["datasets"].size() == 1);
  CHECK(check_json({"dataset", "show", "prompts"})["name"] == "prompts");
  json rows = check_json({"dataset", "show", "prompts", "--rows", "5"});
  CHECK(rows["rows"].size() == 2);
  CHECK(rows["dataset"]["kind"] == "prompt");
  json exp = check_json({"dataset", "export", "prompts", "-o", out});
  CHECK(exp["rows"] == 2);
  CHECK(exp["path"] == out);
  json cmp = check_json({"comparison", "add", "--dataset", "labels", "--prompt", "p", "--a", "x", "--b", "y",
                         "--chosen", "a", "--rating", "0", "--safety", "both_safe"});
  CHECK(cmp.contains("id"));
  CHECK(check_json({"comparison", "list"})["total"] == 1);
  CHECK(check_json({"comparison", "export", "--dataset", "labels", "-o", out})["rows"] == 1);
  CHECK(check_json({"jobs"})["jobs"].is_array());
  CHECK(check_json({"jobs", "--state", "running"})["jobs"].empty());
  // Errors from the daemon: exit 1 and {"error":{...}} on stdout.
  json nf = check_json({"job", "show", "999"}, 1);
  CHECK(nf["error"]["code"] == "not_found");
  CHECK(check_json({"job", "cancel", "999"}, 1)["error"]["code"] == "not_found");
  CHECK(check_json({"job", "submit", "no-such-kind", "--set", "x=1"}, 1)["error"]["code"] == "unsupported_job_kind");
  CHECK(check_json({"dataset", "delete", "prompts"})["deleted"] == "prompts");
  CHECK(check_json({"dataset", "delete", "prompts"}, 1)["error"]["code"] == "not_found");
}
