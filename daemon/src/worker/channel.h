// channel.h — the private channel between workbenchd and one wb-worker process.
//
// A connected stream socket (one end of a socketpair the daemon creates; the worker inherits its
// end as fd 3) carrying frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON
// text (one object). docs/PLUGINS.md lists the messages. Frames are written whole under a mutex,
// so any thread may send; one thread reads.
//
//   Channel ch(fd);                          // owns fd, closes it on destruction
//   ch.send({{"type", "heartbeat"}});        // throws ChannelError when the peer is gone
//   std::optional<json> m = ch.receive();    // nullopt at end of stream (the peer closed)
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "worker/transport.h"

namespace wb::worker {

// A frame larger than this is refused (a damaged stream, not a message).
constexpr std::uint32_t kMaxFrameBytes = 256u << 20;

class Channel : public Transport {
 public:
  explicit Channel(int fd) : fd_(fd) {}
  ~Channel() override;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  int fd() const { return fd_; }
  // Writes one frame (thread-safe). Throws ChannelError when the write fails.
  void send(const nlohmann::json& message) override;
  // Reads one frame, blocking. nullopt at a clean end of stream between frames; ChannelError on
  // a read error, a truncated frame, an oversized length or text that is not a JSON object.
  std::optional<nlohmann::json> receive() override;
  // shutdown(SHUT_RD): the reading thread sees the end of the stream.
  void close_read() override;

 private:
  int fd_;
  std::mutex send_mu_;
};

}  // namespace wb::worker
