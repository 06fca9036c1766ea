// api_error.h — the one exception handlers throw to answer an HTTP error.
//
// The server turns it into the body PROTOCOL.md fixes:
//     {"error": {"code": "<code>", "message": "<message>"}}
// Any other exception escaping a handler becomes 500 `internal` (and is logged).
#pragma once

#include <stdexcept>
#include <string>

namespace wb::daemon {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }

 private:
  int status_;
  std::string code_;
};

inline ApiError invalid_request(const std::string& m) { return {400, "invalid_request", m}; }
inline ApiError not_found(const std::string& m) { return {404, "not_found", m}; }
inline ApiError conflict(const std::string& m) { return {409, "conflict", m}; }
inline ApiError unavailable(const std::string& m) { return {503, "unavailable", m}; }

}  // namespace wb::daemon
