// http_transport.h — wb-worker's frames over HTTP: the daemon's TCP listener (a worker Slurm
// started) or the daemon's own Unix socket (a rank mpirun started on the daemon's machine).
//
// Every send() is one request, `POST /v1/jobs/<job>/worker?run=<run>` with the frame as the body
// and `Authorization: Bearer <token>` (none on the Unix socket, and `&rank=R` for an MPI rank);
// the response is {"frames": [...]}: the reply to a call,
// the "start" message for the first frame ("hello"), and "cancel" / "shutdown" while the daemon
// wants the job stopped (answered to every frame, heartbeats included). receive() hands those
// frames out in order. `run` names this submission of the job: a worker of an earlier one is
// answered 409 and ends. A daemon that cannot be reached (after a few tries) or refuses the
// request is a ChannelError, as a closed socketpair is for a local worker.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "worker/transport.h"

namespace wb::worker {

struct HttpEndpoint {
  std::string host;  // the daemon's TCP listener
  std::uint16_t port = 0;
  std::string unix_socket;  // or: the daemon's Unix socket (host and port unused)
  std::string token;  // tcp.token (read from a 0600 file, never from the command line); empty: none sent
  int rank = -1;      // >= 0: the MPI rank this worker is, sent as `rank`
  std::int64_t job = 0;
  std::string run;
};

// "http://HOST:PORT" -> host, port. Throws std::invalid_argument naming what is wrong.
void parse_daemon_url(const std::string& url, HttpEndpoint& into);

class HttpTransport : public Transport {
 public:
  explicit HttpTransport(HttpEndpoint endpoint) : ep_(std::move(endpoint)) {}
  void send(const nlohmann::json& message) override;
  std::optional<nlohmann::json> receive() override;
  void close_read() override;

 private:
  HttpEndpoint ep_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<nlohmann::json> inbox_;
  bool closed_ = false;
};

}  // namespace wb::worker
