// The launcher fields of a job spec (launcher, partition, nodes, gpus_per_node, time_limit,
// account) are the daemon's: checked at submission naming the field, refused for Slurm without
// the TCP listener and its token (naming the config keys), and never passed to the plugin (the
// sleeper refuses unknown fields). The route Slurm workers report through,
// POST /v1/jobs/{id}/worker, needs the token over TCP and answers 409 for a job with no Slurm run.
// Runs through Slurm itself are in tests/slurm.
#include <utility>

#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "fixture.h"
#include "raw_socket.h"

using namespace wbtest;
using namespace std::chrono_literals;

namespace {

std::uint16_t a_free_port() {
  RawSocket s(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

Reply submit(DaemonFixture& d, json spec) {
  spec["steps"] = 1;
  return d.post("/v1/jobs", {{"kind", "sleep"}, {"spec", spec}});
}

std::string message(const Reply& r) { return r.body.is_object() ? r.body["error"].value("message", "") : r.text; }

}  // namespace

TEST_CASE("launcher slurm without the TCP listener and its token is refused naming the config keys", "[daemon][slurm_fields]") {
  DaemonFixture d;
  Reply r = submit(d, {{"launcher", "slurm"}, {"partition", "debug"}});
  INFO(r.text);
  CHECK(r.status == 422);
  CHECK_THAT(message(r), Catch::Contains("[tcp] enabled = true") && Catch::Contains("tcp.token"));
  CHECK(d.get("/v1/jobs").body["jobs"].empty());  // nothing stored
}

TEST_CASE("launcher fields are checked at submission naming the field, and the plugin never sees them", "[daemon][slurm_fields]") {
  const auto port = a_free_port();
  DaemonFixture d({test_plugin_dir()}, true, "[tcp]\nenabled = true\nport = " + std::to_string(port) + "\ntoken = \"tok\"\n");
  struct Bad {
    json spec;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {{{"launcher", "mpi"}}, "field 'spec.launcher': expected \"local\" or \"slurm\""},
      {{{"launcher", 3}}, "field 'spec.launcher'"},
      {{{"partition", "debug"}}, "field 'spec.partition': only with launcher = \"slurm\""},
      {{{"launcher", "slurm"}}, "field 'spec.partition': required with launcher = \"slurm\""},
      {{{"launcher", "slurm"}, {"partition", ""}}, "field 'spec.partition'"},
      {{{"launcher", "slurm"}, {"partition", "a b"}}, "field 'spec.partition': must not contain spaces"},
      {{{"launcher", "slurm"}, {"partition", "p"}, {"nodes", 0}}, "field 'spec.nodes': expected an integer >= 1"},
      {{{"launcher", "slurm"}, {"partition", "p"}, {"nodes", 2}}, "field 'spec.nodes'"},
      {{{"launcher", "slurm"}, {"partition", "p"}, {"gpus_per_node", -1}}, "field 'spec.gpus_per_node'"},
      {{{"launcher", "slurm"}, {"partition", "p"}, {"time_limit", "1\n#SBATCH --x"}}, "field 'spec.time_limit'"},
      {{{"launcher", "slurm"}, {"partition", "p"}, {"time_limit", 0}}, "field 'spec.time_limit'"},
      {{{"launcher", "slurm"}, {"partition", "p"}, {"account", 7}}, "field 'spec.account'"},
  };
  for (const auto& b : bad) {
    Reply r = submit(d, b.spec);
    INFO(b.spec.dump() << " -> " << r.text);
    CHECK(r.status == 400);
    CHECK_THAT(message(r), Catch::Contains(b.says));
  }
  CHECK(d.get("/v1/jobs").body["jobs"].empty());
  // launcher = "local" is taken out before the plugin validates and runs the spec.
  Reply ok = submit(d, {{"launcher", "local"}});
  INFO(ok.text);
  REQUIRE(ok.status == 201);
  json j = d.wait_job(ok.body["id"].get<std::int64_t>(), "succeeded");
  CHECK(j["spec"]["launcher"] == "local");  // stored as submitted
  CHECK(j["slurm_job_id"].is_null());
}

TEST_CASE("POST /v1/jobs/{id}/worker needs the token over TCP and a current Slurm run", "[daemon][slurm_fields]") {
  const auto port = a_free_port();
  DaemonFixture d({test_plugin_dir()}, true, "[tcp]\nenabled = true\nport = " + std::to_string(port) + "\ntoken = \"tok\"\n");
  const std::string body = R"({"type":"hello"})";
  const std::string len = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  RawSocket no_token = RawSocket::tcp(port);
  REQUIRE(no_token.send("POST /v1/jobs/1/worker?run=abc HTTP/1.1\r\nHost: x\r\n" + len + body));
  CHECK(status_of(no_token.read_all(5s)) == 401);
  RawSocket with_token = RawSocket::tcp(port);
  REQUIRE(with_token.send("POST /v1/jobs/1/worker?run=abc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nConnection: close\r\n" +
                          len + body));
  const std::string got = with_token.read_all(5s);
  CHECK(status_of(got) == 409);
  CHECK_THAT(got, Catch::Contains("job 1 has no Slurm or mpirun run waiting for its workers"));
  // The neighbours of the route stay closed over TCP.
  RawSocket other = RawSocket::tcp(port);
  REQUIRE(other.send("POST /v1/jobs/1/retry HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n" + len + body));
  CHECK(status_of(other.read_all(5s)) == 404);
  // Over the Unix socket: the run token is required, the frame must be one.
  CHECK(d.post_raw("/v1/jobs/1/worker", body).status == 400);
  CHECK(d.post_raw("/v1/jobs/1/worker?run=abc", "[1]").status == 400);
  CHECK(d.post_raw("/v1/jobs/1/worker?run=abc", body).status == 409);
}

TEST_CASE("spec.world is the daemon's to check: an integer >= 1, and > 1 only for kinds that declare it", "[daemon][slurm_fields]") {
  DaemonFixture d;
  for (const json& bad : {json(0), json("two"), json(1.5), json(-3)}) {
    Reply r = submit(d, {{"world", bad}});
    INFO(bad.dump() << " -> " << r.text);
    CHECK(r.status == 400);
    CHECK(message(r) == "field 'spec.world': expected an integer >= 1");
  }
  // The sleeper declares no 'world' field: it runs as one process.
  Reply two = submit(d, {{"world", 2}});
  INFO(two.text);
  CHECK(two.status == 400);
  CHECK_THAT(message(two), Catch::Contains("field 'spec.world': job kind 'sleep' does not run data-parallel"));
  CHECK(d.get("/v1/jobs").body["jobs"].empty());  // nothing stored
  // world = 1 is every job: taken off the spec before the plugin (which refuses unknown fields).
  Reply one = submit(d, {{"world", 1}});
  INFO(one.text);
  CHECK(one.status == 201);
}
