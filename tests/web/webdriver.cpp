#include "webdriver.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tcp_http.h"

namespace webtest {

using nlohmann::json;

namespace {

std::string find_binary(const std::vector<std::string>& names) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    for (std::size_t start = 0;;) {
      const std::size_t colon = p.find(':', start);
      dirs.push_back(p.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  dirs.push_back("/usr/bin");
  for (const auto& name : names)
    for (const auto& d : dirs) {
      const std::string f = d + "/" + name;
      if (!d.empty() && ::access(f.c_str(), X_OK) == 0) return f;
    }
  return "";
}

// Splits UTF-8 text into its characters (WebDriver key values are single code points).
std::vector<std::string> characters(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace

std::string chromium_path() { return find_binary({"chromium", "chromium-browser"}); }
std::string chromedriver_path() { return find_binary({"chromedriver"}); }
bool browser_available() { return !chromium_path().empty() && !chromedriver_path().empty(); }
std::string browser_missing() {
  return "chromium and chromedriver are needed (apt-get install chromium chromium-driver; scripts/setup.sh "
         "installs them)";
}

Browser::Browser(const std::filesystem::path& profile_dir) {
  port_ = wbtest::free_port();
  const std::string driver = chromedriver_path();
  const std::string port_arg = "--port=" + std::to_string(port_);
  std::fflush(nullptr);  // the child must not write the test's buffered output again
  driver_ = ::fork();
  if (driver_ < 0) throw std::runtime_error("fork failed");
  if (driver_ == 0) {
    // chromedriver's own chatter stays out of the test's output.
    FILE* null = std::freopen("/dev/null", "w", stdout);
    (void)null;
    ::execl(driver.c_str(), driver.c_str(), port_arg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    try {
      if (wbtest::tcp_http(port_, "GET", "/status").status == 200) break;
    } catch (const std::exception&) {
    }
    if (std::chrono::steady_clock::now() > end) throw std::runtime_error("chromedriver did not start on " + port_arg);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::filesystem::create_directories(profile_dir);
  // As root Chromium needs --no-sandbox; /dev/shm is small in containers.
  json caps = {{"capabilities",
                {{"alwaysMatch",
                  {{"browserName", "chrome"},
                   {"goog:chromeOptions",
                    {{"binary", chromium_path()},
                     {"args",
                      {"--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                       "--no-first-run", "--disable-extensions", "--window-size=1200,900",
                       "--user-data-dir=" + profile_dir.string()}}}}}}}}};
  json r = command("POST", "/session", caps);
  session_ = r.at("sessionId").get<std::string>();
}

Browser::~Browser() {
  if (!session_.empty()) {
    try {
      wbtest::tcp_http(port_, "DELETE", "/session/" + session_);
    } catch (const std::exception&) {
    }
  }
  if (driver_ > 0) {
    ::kill(driver_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(driver_, nullptr, WNOHANG) == driver_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(driver_, SIGKILL);
    ::waitpid(driver_, nullptr, 0);
  }
}

json Browser::command(const std::string& method, const std::string& path, const json& body) {
  auto r = wbtest::tcp_http(port_, method, path, body.is_null() ? "" : body.dump());
  json j = json::parse(r.body, nullptr, false);
  if (r.status != 200 || j.is_discarded())
    throw std::runtime_error("WebDriver " + method + " " + path + " -> " + std::to_string(r.status) + ": " +
                             r.body.substr(0, 2000));
  return j.at("value");
}

void Browser::navigate(const std::string& url) { command("POST", "/session/" + session_ + "/url", {{"url", url}}); }

json Browser::script(const std::string& body) {
  return command("POST", "/session/" + session_ + "/execute/sync", {{"script", body}, {"args", json::array()}});
}

void Browser::type(const std::string& keys) {
  json actions = json::array();
  for (const auto& k : characters(keys)) {
    actions.push_back({{"type", "keyDown"}, {"value", k}});
    actions.push_back({{"type", "keyUp"}, {"value", k}});
  }
  command("POST", "/session/" + session_ + "/actions",
          {{"actions", {{{"type", "key"}, {"id", "keyboard"}, {"actions", actions}}}}});
}

bool Browser::wait_for(const std::string& body, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (script(body) == true) return true;
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace webtest
