// tty.h — an interactive terminal for full-screen commands (wb label): raw keys, restored on
// every way out.
//
//   RawTerminal term(STDIN_FILENO, STDOUT_FILENO);   // throws Error when fd is not a terminal
//   term.write(clear_screen() + text);
//   Key k = term.read_key();                         // blocks; Key::Resize after SIGWINCH
//   // ~RawTerminal restores the saved termios and the previous signal dispositions
//
// Raw mode here: no line buffering, no echo, no CR->NL translation on input (Enter reads '\r'),
// no XON/XOFF; output processing (NL -> CR NL) and signal keys stay on, so Ctrl-C still sends
// SIGINT. The termios is restored by the destructor (normal return, exceptions) and by handlers
// for SIGINT, SIGTERM, SIGHUP and SIGQUIT, which restore it, show the cursor, then re-raise the
// signal with its default action (the process dies of it as it would have). Only one RawTerminal
// may exist at a time (the handlers reach it through process-wide state).
#pragma once

#include <termios.h>

#include <string>
#include <string_view>

namespace wb::cli {

// A key press: a byte (ASCII letter, digit, '\r', 127 for Backspace, 4 for Ctrl-D) or one of the
// special values below. Escape sequences are read whole: up/down arrows and PgUp/PgDn are
// reported as such, every other sequence (and a lone ESC) as kKeyOther.
enum Key : int {
  kKeyEof = -1,      // the terminal went away (read returned 0 or EIO)
  kKeyResize = -2,   // SIGWINCH arrived: the size may have changed
  kKeyOther = -3,    // an escape sequence or a byte with no meaning to the caller
  kKeyUp = -4,       // ESC [ A  (or ESC O A)
  kKeyDown = -5,     // ESC [ B
  kKeyPageUp = -6,   // ESC [ 5 ~
  kKeyPageDown = -7, // ESC [ 6 ~
};

struct TerminalSize {
  int cols = 80;
  int rows = 24;
};

class RawTerminal {
 public:
  RawTerminal(int in_fd, int out_fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  // Blocks until a key arrives, the size changes, or the terminal goes away.
  int read_key();
  // Drops keys typed but not yet read (e.g. pressed while a pair was being generated).
  void discard_input();
  // Writes all of `text` (retrying short writes and EINTR).
  void write(std::string_view text);
  // Current size (TIOCGWINSZ; 80x24 when unknown).
  TerminalSize size() const;

 private:
  int in_, out_;
  struct termios saved_ {};
};

// ANSI sequences the screens use.
inline constexpr std::string_view kClearScreen = "\033[H\033[2J";  // home + erase display
inline constexpr std::string_view kBold = "\033[1m";
inline constexpr std::string_view kReverse = "\033[7m";
inline constexpr std::string_view kReset = "\033[0m";

}  // namespace wb::cli
