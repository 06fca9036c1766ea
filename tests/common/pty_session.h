// pty_session.h — runs a program on a real pseudo-terminal (forkpty) and drives it like a user:
// keys in, screen bytes out, resize, kill.
//
//   PtySession s({wb_binary(), "--socket", sock, "label", ...}, 100, 30);
//   s.wait_for("A or B?");          // waits for text that appeared after the last mark()
//   s.mark();  s.send("a");  s.wait_for("A is better");
//   int code = s.wait_exit();       // exit status, or 128 + signal
//
// The child is a session leader on the terminal (its process group id is its pid), so
// kill_group(SIGKILL) ends it and anything it started. The destructor SIGKILLs a child still
// running and closes the master.
#pragma once

#include <sys/types.h>
#include <termios.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace wbtest {

class PtySession {
 public:
  PtySession(const std::vector<std::string>& argv, unsigned short cols, unsigned short rows,
             const std::map<std::string, std::string>& env = {});
  ~PtySession();
  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;

  // Remembers the current end of the output; wait_for() looks only at what comes after it.
  void mark();
  // Reads until `text` appears after the mark (true) or `timeout` passes / the child closes
  // the terminal (false).
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Writes keys to the terminal as typed.
  void send(const std::string& keys);
  // Changes the window size (the child gets SIGWINCH).
  void resize(unsigned short cols, unsigned short rows);
  // The terminal's current settings (the pty's termios, as the child last set them).
  struct termios termios() const;

  void kill_group(int sig);
  // Closes the master side: the child's terminal hangs up (SIGHUP).
  void close_master();
  // Waits for the child to exit, reading output meanwhile; 128 + signal when killed, -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  const std::string& output() const { return out_; }
  std::string since_mark() const { return out_.substr(mark_); }
  pid_t pid() const { return pid_; }

 private:
  // Reads what is available within `wait`; false once the terminal is closed (EIO).
  bool pump(std::chrono::milliseconds wait);

  int master_ = -1;
  pid_t pid_ = -1;
  int status_ = -1;
  bool exited_ = false;
  std::string out_;
  std::size_t mark_ = 0;
};

}  // namespace wbtest
