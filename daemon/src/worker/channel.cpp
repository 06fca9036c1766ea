#include "worker/channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace wb::worker {
namespace {

// Reads exactly n bytes; returns the count read before end of stream (< n only at EOF).
std::size_t read_full(int fd, char* p, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, p + got, n - got);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      throw ChannelError(std::string("worker channel: read failed: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(r);
  }
  return got;
}

}  // namespace

Channel::~Channel() {
  if (fd_ >= 0) ::close(fd_);
}

void Channel::send(const nlohmann::json& message) {
  std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (body.size() > kMaxFrameBytes) throw ChannelError("worker channel: message of " + std::to_string(body.size()) + " bytes exceeds the frame limit");
  const auto n = static_cast<std::uint32_t>(body.size());
  std::string frame(4, '\0');
  frame[0] = static_cast<char>((n >> 24) & 0xff);
  frame[1] = static_cast<char>((n >> 16) & 0xff);
  frame[2] = static_cast<char>((n >> 8) & 0xff);
  frame[3] = static_cast<char>(n & 0xff);
  frame += body;
  std::lock_guard<std::mutex> lk(send_mu_);
  std::size_t sent = 0;
  while (sent < frame.size()) {
    // MSG_NOSIGNAL: a peer that is gone is an error here, not a SIGPIPE.
    ssize_t w = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw ChannelError(std::string("worker channel: write failed: ") + std::strerror(errno));
    }
    sent += static_cast<std::size_t>(w);
  }
}

std::optional<nlohmann::json> Channel::receive() {
  unsigned char len[4];
  std::size_t got = read_full(fd_, reinterpret_cast<char*>(len), 4);
  if (got == 0) return std::nullopt;
  if (got < 4) throw ChannelError("worker channel: stream ended inside a frame header");
  const std::uint32_t n = (std::uint32_t(len[0]) << 24) | (std::uint32_t(len[1]) << 16) | (std::uint32_t(len[2]) << 8) | len[3];
  if (n > kMaxFrameBytes) throw ChannelError("worker channel: frame length " + std::to_string(n) + " exceeds the limit");
  std::string body(n, '\0');
  if (read_full(fd_, body.data(), n) < n) throw ChannelError("worker channel: stream ended inside a frame");
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ChannelError("worker channel: a frame is not a JSON object");
  return j;
}

void Channel::close_read() { ::shutdown(fd_, SHUT_RD); }

}  // namespace wb::worker
