#include "pty_session.h"

#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace wbtest {

PtySession::PtySession(const std::vector<std::string>& argv, unsigned short cols, unsigned short rows,
                       const std::map<std::string, std::string>& env) {
  std::vector<std::string> args = argv;
  std::vector<char*> c_args;
  for (auto& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  winsize ws{};
  ws.ws_col = cols;
  ws.ws_row = rows;
  pid_ = ::forkpty(&master_, nullptr, nullptr, &ws);
  if (pid_ < 0) throw std::runtime_error("forkpty failed");
  if (pid_ == 0) {
    for (auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execv(c_args[0], c_args.data());
    ::_exit(127);
  }
}

PtySession::~PtySession() {
  if (!exited_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (master_ >= 0) ::close(master_);
}

void PtySession::mark() { mark_ = out_.size(); }

bool PtySession::pump(std::chrono::milliseconds wait) {
  if (master_ < 0) return false;
  pollfd p{master_, POLLIN, 0};
  const int n = ::poll(&p, 1, static_cast<int>(wait.count()));
  if (n <= 0) return true;
  char buf[4096];
  const ssize_t got = ::read(master_, buf, sizeof buf);
  if (got > 0) {
    out_.append(buf, static_cast<std::size_t>(got));
    return true;
  }
  if (got < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  return false;  // EIO: no process holds the terminal any more
}

bool PtySession::wait_for(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (out_.find(text, mark_) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (!pump(std::chrono::milliseconds(50))) return out_.find(text, mark_) != std::string::npos;
  }
}

void PtySession::send(const std::string& keys) {
  std::size_t done = 0;
  while (done < keys.size()) {
    const ssize_t n = ::write(master_, keys.data() + done, keys.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("cannot write to the pty");
    done += static_cast<std::size_t>(n);
  }
}

void PtySession::resize(unsigned short cols, unsigned short rows) {
  winsize ws{};
  ws.ws_col = cols;
  ws.ws_row = rows;
  ::ioctl(master_, TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to the foreground group
}

struct termios PtySession::termios() const {
  struct termios t {};
  if (::tcgetattr(master_, &t) != 0) throw std::runtime_error("tcgetattr on the pty failed");
  return t;
}

void PtySession::kill_group(int sig) { ::kill(-pid_, sig); }

void PtySession::close_master() {
  if (master_ >= 0) ::close(master_);
  master_ = -1;
}

int PtySession::wait_exit(std::chrono::milliseconds timeout) {
  if (exited_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      while (pump(std::chrono::milliseconds(0)) && master_ >= 0) {
        // drain what the child wrote before it exited
        pollfd p{master_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) break;
      }
      exited_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (master_ >= 0) {
      pump(std::chrono::milliseconds(20));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return -1;
}

}  // namespace wbtest
