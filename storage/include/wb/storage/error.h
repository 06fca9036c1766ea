// wb/storage/error.h — the exceptions thrown by libwb_storage.
//
// Every failure is a wb::storage::Error (a std::runtime_error whose what() is a complete,
// user-facing sentence). The subclasses tell the daemon which HTTP status to answer:
//
//   NotFound        -> 404 not_found        (a named model/dataset/adapter/job does not exist)
//   Conflict        -> 409 conflict         (a unique name exists; illegal job transition)
//   Invalid         -> 400 invalid_request  (bad input: a field missing, of the wrong type, out of range)
//   InvalidDataset  -> 400 invalid_dataset  (a JSONL line is bad: "line 5001: field 'rating': ...")
//   Error, DiskFull -> 507 disk_full        (no space left: ENOSPC, EDQUOT, EFBIG, SQLITE_FULL;
//                                           the transaction was rolled back, nothing changed)
//   Error (itself)  -> 500 internal         (SQLite failed: I/O error, corrupt file, ...)
//
// code() gives the same classification without dynamic_cast; sqlite_code() is the extended
// SQLite result code when the error came from SQLite (0 otherwise).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace wb::storage {

enum class ErrorCode { Internal, NotFound, Conflict, Invalid, InvalidDataset, DiskFull };

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorCode code = ErrorCode::Internal, int sqlite_code = 0)
      : std::runtime_error(message), code_(code), sqlite_code_(sqlite_code) {}

  ErrorCode code() const noexcept { return code_; }
  int sqlite_code() const noexcept { return sqlite_code_; }

 private:
  ErrorCode code_;
  int sqlite_code_;
};

class NotFound : public Error {
 public:
  explicit NotFound(const std::string& message, int sqlite_code = 0)
      : Error(message, ErrorCode::NotFound, sqlite_code) {}
};

class Conflict : public Error {
 public:
  explicit Conflict(const std::string& message, int sqlite_code = 0)
      : Error(message, ErrorCode::Conflict, sqlite_code) {}
};

class Invalid : public Error {
 public:
  explicit Invalid(const std::string& message, int sqlite_code = 0)
      : Error(message, ErrorCode::Invalid, sqlite_code) {}

 protected:
  Invalid(const std::string& message, ErrorCode code) : Error(message, code) {}
};

// A dataset line failed validation. line() is the 1-based line (or array element) number;
// what() is "line N: <problem>" exactly as the protocol's invalid_dataset message.
class InvalidDataset : public Invalid {
 public:
  InvalidDataset(const std::string& message, std::int64_t line)
      : Invalid(message, ErrorCode::InvalidDataset), line_(line) {}
  std::int64_t line() const noexcept { return line_; }

 private:
  std::int64_t line_;
};

}  // namespace wb::storage
