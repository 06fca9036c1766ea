// README.md's "Serving" section, run verbatim: every indented command line (wb and curl) in
// document order against a real daemon (model "base", an adapter "sft-1" registered the way a
// training job leaves it). Each line runs under bash in a temp dir whose build/ links to this
// build, with WB_SOCKET set; the one placeholder, /path/to/peft-adapter, is replaced by a real
// PEFT folder, and `wb chat` reads two turns and /exit on stdin.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "harness.h"
#include "serving_fixture.h"

using namespace servingtest;

namespace {

std::vector<std::string> serving_section_commands() {
  std::ifstream in(fs::path(WB_SOURCE_DIR) / "README.md");
  REQUIRE(in);
  std::vector<std::string> out;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) inside = line == "## Serving";
    if (inside && line.rfind("    ", 0) == 0 && line.find_first_not_of(' ') != std::string::npos)
      out.push_back(line.substr(4));
  }
  return out;
}

}  // namespace

TEST_CASE("serving: the README's serving commands work verbatim") {
  const auto commands = serving_section_commands();
  REQUIRE(commands.size() >= 10);
  ServingDaemon d("", false, "base");
  // "sft-1" as a finished training job leaves it: registered, not loaded (registering by path
  // needs a served model; the README's `wb serve start` then loads the model afresh).
  d.serve();
  REQUIRE(d.load_adapter("sft-1", d.write_adapter("sft-1", 11)).status == 200);
  REQUIRE(d.post("/v1/adapters/sft-1/unload", json::object()).status == 200);
  const fs::path peft = d.write_adapter("peft-from-elsewhere", 21);
  const fs::path work = d.dir() / "readme";
  fs::create_directories(work);
  fs::create_symlink(WB_BINARY_DIR, work / "build");

  std::map<std::string, std::string> outputs;
  for (std::string cmd : commands) {
    const std::string verbatim = cmd;
    const auto ph = cmd.find("/path/to/peft-adapter");
    if (ph != std::string::npos) cmd.replace(ph, std::string("/path/to/peft-adapter").size(), peft.string());
    const std::string input = cmd.find("wb chat") != std::string::npos ? "Hello!\nAnd then?\n/exit\n" : "";
    auto r = wbtest::run_process({"/bin/bash", "-c", "cd '" + work.string() + "' && " + cmd}, input,
                                 {{"WB_SOCKET", d.socket()}});
    INFO(verbatim << "\nexit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    outputs[verbatim] = r.out;
  }
  auto output_of = [&](const std::string& needle) {
    for (auto& [cmd, out] : outputs)
      if (cmd.find(needle) != std::string::npos) return out;
    FAIL("no README command contains " << needle);
    return std::string();
  };
  CHECK(output_of("wb adapter list").find("my-peft") != std::string::npos);
  CHECK(output_of("wb serve status").find("sft-1") != std::string::npos);
  CHECK(!output_of("wb generate").empty());
  json completion = json::parse(output_of("http://wb/v1/completions"));
  CHECK(completion["choices"][0]["text"].is_string());
  CHECK(completion["model"] == "sft-1");
  const std::string streamed = output_of("\"stream\": true");
  Sse s = parse_sse(streamed);
  CHECK(s.done);
  CHECK(s.events.front()["object"] == "chat.completion.chunk");
  CHECK(output_of("http://wb/metrics").find("workbench_serving_requests_total{endpoint=\"chat\"") != std::string::npos);
  // The section ends with the model stopped.
  CHECK(d.stats()["serving"] == false);
}
