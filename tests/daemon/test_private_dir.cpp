// The data directory is private to the daemon's user: created 0700 with its files 0600 (umask 077),
// an existing 0755 one narrowed to 0700, and one other users can write refused before anything is
// opened in it (lifecycle/private_dir.h).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "fixture.h"
#include "wb_temp_dir.h"

using namespace wbtest;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st{};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("a new data dir is 0700 and the database, log and job files in it are the user's alone", "[daemon][security]") {
  DaemonFixture d;
  const fs::path data = d.process.data_dir();
  CHECK(mode_of(data) == 0700);
  CHECK((mode_of(data / "workbench.db") & 077) == 0);
  CHECK((mode_of(data / "workbenchd.log") & 077) == 0);
  Reply r = d.post("/v1/jobs", {{"kind", "sleep"}, {"spec", {{"steps", 1}, {"step_ms", 1}}}});
  REQUIRE(r.status == 201);
  const json j = d.wait_job(r.body["id"], "succeeded");
  CHECK((mode_of(j["checkpoint"].get<std::string>()) & 077) == 0);
  CHECK((mode_of(fs::path(j["checkpoint"].get<std::string>()).parent_path()) & 077) == 0);
}

TEST_CASE("a data dir others can write is refused, one others can read is narrowed to 0700", "[daemon][security]") {
  TempDir tmp("wb-priv");
  const fs::path open_dir = tmp.path() / "open";
  fs::create_directories(open_dir);
  REQUIRE(::chmod(open_dir.c_str(), 0777) == 0);
  DaemonProcess refused(open_dir, tmp.path() / "run/wb.sock", {test_plugin_dir()});
  CHECK(refused.run_expecting_exit() == 1);
  CHECK_THAT(refused.log_text(), Catch::Contains("is writable by other users (mode 0777)"));
  CHECK_FALSE(fs::exists(open_dir / "workbench.db"));  // nothing opened in it
  CHECK(mode_of(open_dir) == 0777);                     // and nothing changed

  const fs::path readable = tmp.path() / "readable";
  fs::create_directories(readable);
  REQUIRE(::chmod(readable.c_str(), 0755) == 0);
  DaemonProcess narrowed(readable, tmp.path() / "run2/wb.sock", {test_plugin_dir()});
  narrowed.start();
  CHECK(mode_of(readable) == 0700);
  CHECK_THAT(narrowed.log_text(), Catch::Contains("was mode 0755; made 0700"));
  CHECK(narrowed.terminate() == 0);
}
