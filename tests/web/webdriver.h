// webdriver.h — a small W3C WebDriver client for the browser tests: starts Debian's chromedriver
// on a free port, opens one headless Chromium session and drives it (navigate, run a script,
// type keys). Everything goes over HTTP on 127.0.0.1 (tcp_http.h).
//
//   if (!webtest::browser_available()) WB_SKIP(webtest::browser_missing());
//   webtest::Browser b(tmp.path() / "chrome");       // chromedriver + a headless session
//   b.navigate("http://127.0.0.1:8080/ui/label.html");
//   b.type("abc" + webtest::kEnter);                 // key presses to the focused element
//   json v = b.script("return document.title");
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace webtest {

inline const std::string kEnter = "\xee\x80\x87";      // U+E007, WebDriver's Enter key
inline const std::string kBackspace = "\xee\x80\x83";  // U+E003

// The chromium and chromedriver binaries (PATH, then /usr/bin); empty when missing.
std::string chromium_path();
std::string chromedriver_path();
bool browser_available();
std::string browser_missing();  // the skip message

class Browser {
 public:
  // Starts chromedriver and a headless session whose profile lives under `profile_dir`.
  explicit Browser(const std::filesystem::path& profile_dir);
  ~Browser();  // ends the session, then chromedriver (SIGTERM, then SIGKILL)
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  void navigate(const std::string& url);
  // Runs `body` as a function body in the page (WebDriver execute/sync); its return value.
  nlohmann::json script(const std::string& body);
  // Presses and releases each key of `keys` (UTF-8; kEnter and the like for special keys), in order.
  void type(const std::string& keys);
  // Polls script(`body`) every 50 ms until it returns true; false after `timeout`.
  bool wait_for(const std::string& body, std::chrono::milliseconds timeout);

 private:
  nlohmann::json command(const std::string& method, const std::string& path, const nlohmann::json& body);

  pid_t driver_ = -1;
  std::uint16_t port_ = 0;
  std::string session_;
};

}  // namespace webtest
