// README.md's "CLI tour", run verbatim: every indented command line of the section (a line
// ending in " \" joined with the next), in document order, under bash in a temp dir whose build/
// links to this build. The tour starts its own workbenchd (its `&` line runs with its output in
// daemon.log; the next line waits until the daemon answers) and `export` lines carry over to the
// lines after them. The one substitution: the tour's scratch folder /tmp/wb-tour becomes this
// test's temp dir, so runs in parallel do not meet. XDG_CONFIG_HOME points at an empty folder so a
// developer's own config cannot leak in.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::string> tour_commands() {
  std::ifstream in(fs::path(WB_SOURCE_DIR) / "README.md");
  REQUIRE(in);
  std::vector<std::string> out;
  std::string line;
  bool inside = false, continued = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) inside = line == "## CLI tour";
    if (!inside || line.rfind("    ", 0) != 0 || line.find_first_not_of(' ') == std::string::npos) continue;
    std::string cmd = line.substr(4);
    if (continued) out.back() += "\n" + cmd;
    else out.push_back(cmd);
    continued = cmd.size() >= 2 && cmd.compare(cmd.size() - 2, 2, " \\") == 0;
  }
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

bool has(const std::string& cmd, const std::string& needle) { return cmd.find(needle) != std::string::npos; }

// Stops the tour's daemon (its pid is in the data dir's lock file) however the test ends.
struct TourDaemon {
  fs::path lock;
  ~TourDaemon() {
    std::ifstream in(lock);
    pid_t pid = 0;
    if (!(in >> pid) || pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
  }
};

}  // namespace

TEST_CASE("tour: the README's CLI tour works verbatim") {
  const auto commands = tour_commands();
  REQUIRE(commands.size() >= 20);
  wbtest::TempDir tmp("wb-tour");
  const fs::path scratch = tmp.path() / "t";  // short: the socket path must fit in 107 bytes
  const fs::path work = tmp.path() / "repo";
  fs::create_directories(work);
  fs::create_directories(tmp.path() / "config");
  fs::create_symlink(WB_BINARY_DIR, work / "build");
  TourDaemon daemon{scratch / "data" / "workbenchd.lock"};
  const std::map<std::string, std::string> env = {{"XDG_CONFIG_HOME", (tmp.path() / "config").string()}};

  std::string prelude;  // the export lines so far
  std::map<std::string, wbtest::ProcResult> results;
  for (const std::string& verbatim : commands) {
    std::string cmd = verbatim;
    replace_all(cmd, "/tmp/wb-tour", scratch.string());
    const bool background = cmd.size() > 2 && cmd.compare(cmd.size() - 2, 2, " &") == 0;
    if (background) cmd = cmd.substr(0, cmd.size() - 2) + " >'" + (work / "daemon.log").string() + "' 2>&1 &";
    auto r = wbtest::run_process({"/bin/bash", "-c", "set -eo pipefail; cd '" + work.string() + "'; " + prelude + cmd},
                                 "", env, std::chrono::seconds(600));
    INFO(verbatim << "\nexit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    if (cmd.rfind("export ", 0) == 0) prelude += cmd + "\n";
    if (background) {  // wait for the daemon the line started
      bool up = false;
      for (int i = 0; i < 300 && !up; ++i) {
        up = wbtest::run_process({"/bin/bash", "-c", "cd '" + work.string() + "'; " + prelude + "build/bin/wb status"}, "",
                                 env)
                 .exit_code == 0;
        if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      std::ifstream log(work / "daemon.log");
      INFO(std::string(std::istreambuf_iterator<char>(log), {}));
      REQUIRE(up);
    }
    results[verbatim] = r;
  }

  auto output_of = [&](const std::string& needle) {
    for (auto& [cmd, r] : results)
      if (has(cmd, needle)) return r.out;
    FAIL("no README tour command contains " << needle);
    return std::string();
  };
  CHECK_THAT(output_of("dataset import corpus"), Catch::Contains("(text)"));
  CHECK_THAT(output_of("dataset list"), Catch::Contains("chat-eval") && Catch::Contains("corpus"));
  const std::string help = output_of("train pretrain --help");
  CHECK_THAT(help, Catch::Contains("Spec fields of 'pretrain'") && Catch::Contains("required") &&
                       Catch::Contains("max_steps") && Catch::Contains("cosine | constant"));
  CHECK_THAT(output_of("wb eval"), Catch::Contains("ACCURACY"));
  bool gguf = false;
  for (const auto& e : fs::directory_iterator(scratch / "out")) gguf |= e.path().extension() == ".gguf";
  CHECK(gguf);
  CHECK_THAT(output_of("wb jobs"), Catch::Contains("reward") && Catch::Contains("succeeded"));
  CHECK_THAT(output_of("job logs 3"), Catch::Contains("succeeded"));
  // The tour's job numbers are the jobs its commands submitted: 3 is the SFT run, 8 the one cancelled.
  const json status = json::parse(output_of("--json status"));
  CHECK(status.is_object());
  auto job = wbtest::run_process({"/bin/bash", "-c", "cd '" + work.string() + "'; " + prelude +
                                                         "build/bin/wb --json job show 3; build/bin/wb --json job show 8"},
                                 "", env);
  REQUIRE(job.exit_code == 0);
  std::istringstream two(job.out);
  json sft, cancelled;
  two >> sft >> cancelled;
  CHECK(sft["kind"] == "sft");
  CHECK(cancelled["kind"] == "pretrain");
  CHECK((cancelled["state"] == "cancelled" || cancelled["cancel_requested"] == true));
}
