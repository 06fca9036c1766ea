// RawTerminal: raw keys on a terminal, restored on return, exception and fatal signals (tty.h).
#include "wb/cli/tty.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "wb/cli/errors.h"

namespace wb::cli {

namespace {

// Process-wide state for the signal handlers (only async-signal-safe calls touch it there).
volatile sig_atomic_t g_resized = 0;
volatile sig_atomic_t g_active = 0;
int g_fd = -1;
struct termios g_saved {};

constexpr int kFatalSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
struct sigaction g_previous[4];
struct sigaction g_previous_winch;

// Restores the terminal, then dies of the signal as if no handler had been installed.
void on_fatal_signal(int sig) {
  if (g_active) {
    ::tcsetattr(g_fd, TCSAFLUSH, &g_saved);
    static const char kShow[] = "\033[0m\033[?25h\r\n";
    ssize_t ignored = ::write(g_fd, kShow, sizeof kShow - 1);
    (void)ignored;
    g_active = 0;
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void on_winch(int) { g_resized = 1; }

}  // namespace

RawTerminal::RawTerminal(int in_fd, int out_fd) : in_(in_fd), out_(out_fd) {
  if (!::isatty(in_) || !::isatty(out_)) throw Error("this command needs a terminal on stdin and stdout");
  if (g_active) throw Error("a raw terminal is already active");
  if (::tcgetattr(in_, &saved_) != 0) throw Error(std::string("cannot read the terminal settings: ") + std::strerror(errno));
  g_saved = saved_;
  g_fd = in_;
  g_resized = 0;

  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_fatal_signal;
  for (int i = 0; i < 4; ++i) ::sigaction(kFatalSignals[i], &sa, &g_previous[i]);
  struct sigaction winch {};
  sigemptyset(&winch.sa_mask);
  winch.sa_handler = on_winch;
  winch.sa_flags = SA_RESTART;  // blocking HTTP reads go on; read_key() polls the flag
  ::sigaction(SIGWINCH, &winch, &g_previous_winch);

  struct termios raw = saved_;
  raw.c_iflag &= ~static_cast<tcflag_t>(ICRNL | INLCR | IGNCR | IXON | ISTRIP);
  raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | IEXTEN);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  g_active = 1;
  if (::tcsetattr(in_, TCSAFLUSH, &raw) != 0) {
    const int e = errno;
    g_active = 0;
    for (int i = 0; i < 4; ++i) ::sigaction(kFatalSignals[i], &g_previous[i], nullptr);
    ::sigaction(SIGWINCH, &g_previous_winch, nullptr);
    throw Error(std::string("cannot switch the terminal to raw mode: ") + std::strerror(e));
  }
}

RawTerminal::~RawTerminal() {
  ::tcsetattr(in_, TCSAFLUSH, &saved_);
  g_active = 0;
  for (int i = 0; i < 4; ++i) ::sigaction(kFatalSignals[i], &g_previous[i], nullptr);
  ::sigaction(SIGWINCH, &g_previous_winch, nullptr);
}

int RawTerminal::read_key() {
  for (;;) {
    if (g_resized) {
      g_resized = 0;
      return kKeyResize;
    }
    pollfd p{in_, POLLIN, 0};
    const int n = ::poll(&p, 1, 250);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return kKeyEof;
    if (n == 0) continue;
    unsigned char c = 0;
    const ssize_t got = ::read(in_, &c, 1);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return kKeyEof;
    if (c != 0x1b) return c;
    // An escape sequence (ESC [ params final-byte, or ESC O final-byte) arrives in one burst:
    // read what follows at once.
    std::string seq;
    for (;;) {
      pollfd q{in_, POLLIN, 0};
      if (::poll(&q, 1, 20) <= 0) break;
      unsigned char d = 0;
      if (::read(in_, &d, 1) != 1) break;
      seq += static_cast<char>(d);
      if (seq.size() > 1 && d >= '@' && d <= '~') break;
      if (seq.size() == 1 && d != '[' && d != 'O') break;
    }
    if (seq == "[A" || seq == "OA") return kKeyUp;
    if (seq == "[B" || seq == "OB") return kKeyDown;
    if (seq == "[5~") return kKeyPageUp;
    if (seq == "[6~") return kKeyPageDown;
    return kKeyOther;
  }
}

void RawTerminal::discard_input() { ::tcflush(in_, TCIFLUSH); }

void RawTerminal::write(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(out_, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(std::string("cannot write to the terminal: ") + std::strerror(errno));
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

TerminalSize RawTerminal::size() const {
  TerminalSize s;
  winsize ws{};
  if (::ioctl(out_, TIOCGWINSZ, &ws) == 0) {
    if (ws.ws_col > 0) s.cols = ws.ws_col;
    if (ws.ws_row > 0) s.rows = ws.ws_row;
  }
  return s;
}

}  // namespace wb::cli
