// transport.h — how wb-worker's frames reach workbenchd: one interface, two carriers.
//
//   Channel        (channel.h)         the socketpair a local worker inherits as fd 3; the daemon
//                                      writes to it whenever it has something to say.
//   HttpTransport  (http_transport.h)  the daemon's TCP listener with its bearer token, for a
//                                      worker started by Slurm on another node: one HTTP request
//                                      per frame, the daemon's frames in the response.
// RemoteHost (remote_host.h) speaks to either. Frames are the JSON objects docs/PLUGINS.md lists.
#pragma once

#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace wb::worker {

// The peer is gone or answered something that is not a frame.
class ChannelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one frame (thread-safe). Throws ChannelError when it cannot be delivered.
  virtual void send(const nlohmann::json& message) = 0;
  // The daemon's next frame, blocking (one reading thread). nullopt at the end of the stream
  // (the peer closed, or close_read() was called); ChannelError on a damaged stream.
  virtual std::optional<nlohmann::json> receive() = 0;
  // Makes a blocked receive() return nullopt (the worker is done).
  virtual void close_read() = 0;
};

}  // namespace wb::worker
