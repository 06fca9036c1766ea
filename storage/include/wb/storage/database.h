// wb/storage/database.h — RAII over the SQLite C API.
//
//   Database     one sqlite3 connection (opened/created on construction, closed on destruction),
//                configured for the daemon: WAL journal, foreign_keys=ON, busy_timeout,
//                synchronous=NORMAL.
//   Statement    one prepared sqlite3_stmt (finalized on destruction): bind by 1-based index or
//                by name (":name"), step(), column accessors (0-based), reset().
//   Transaction  BEGIN IMMEDIATE on construction; commit(); rolls back in its destructor when
//                commit() was not reached (an exception unwound past it).
//
// None of these classes is thread-safe on its own: a Database is used by one thread at a time.
// The Store (store.h) serialises access with a mutex. Every SQLite failure throws
// wb::storage::Error (error.h) carrying sqlite3_errmsg(); a UNIQUE/PRIMARY KEY violation throws
// Conflict, a CHECK/NOT NULL/FOREIGN KEY violation throws Invalid.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace wb::storage {

class Statement;

struct OpenOptions {
  bool create = true;          // create the file when missing (otherwise a missing file is NotFound)
  int busy_timeout_ms = 5000;  // how long a writer waits for another connection's lock
  // Store only: run PRAGMA quick_check on open and refuse a damaged file (the daemon sets it; the
  // check reads every page once, so it is off for short-lived stores).
  bool quick_check = false;
  // Store only: refuse an existing zero-length file (SQLite would take it for an empty database,
  // so a truncated workbench.db would start silently empty). Off by default because a Store
  // opening a new file while another process creates it also sees zero bytes; the daemon, alone
  // on its data directory (instance lock), sets it.
  bool refuse_empty_file = false;
};

class Database {
 public:
  explicit Database(const std::filesystem::path& file, const OpenOptions& options = {});
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more ';'-separated statements that return no rows needed by the caller.
  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);

  std::int64_t last_insert_rowid() const;
  int changes() const;  // rows changed by the latest INSERT/UPDATE/DELETE

  int user_version();                // PRAGMA user_version
  void set_user_version(int version);
  // PRAGMA integrity_check: "ok" for a healthy file, otherwise SQLite's report (lines joined by '\n').
  std::string integrity_check();
  // PRAGMA quick_check: the same answer, reading every page once without checking indexes against tables.
  std::string quick_check();
  std::string journal_mode();        // "wal" once opened

  const std::filesystem::path& path() const noexcept { return path_; }
  sqlite3* handle() const noexcept { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binding: index is 1-based; a name includes its prefix (":id"). Text is copied (SQLITE_TRANSIENT).
  // An unknown parameter name throws Error. All return *this for chaining.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value ? 1 : 0)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::nullptr_t);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }
  template <class T>
  Statement& bind(std::string_view name, const T& value) {
    return bind(parameter_index(name), value);
  }
  int parameter_index(std::string_view name) const;

  // Advances: true when a row is available, false when the statement is done.
  bool step();
  // Steps to completion, for statements that return no rows.
  void run();
  // Resets for re-execution; bindings are kept until clear_bindings().
  void reset();
  void clear_bindings();

  // Column accessors (0-based) for the current row.
  int column_count() const;
  bool is_null(int column) const;
  std::int64_t column_int64(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;  // "" for NULL
  std::optional<std::string> column_optional_text(int column) const;
  std::optional<std::int64_t> column_optional_int64(int column) const;
  std::optional<double> column_optional_double(int column) const;

  sqlite3_stmt* handle() const noexcept { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class Transaction {
 public:
  // BEGIN IMMEDIATE: takes the write lock at once, so two writers never deadlock on upgrade.
  explicit Transaction(Database& db);
  ~Transaction();  // ROLLBACK unless commit() succeeded; never throws
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();
  bool committed() const noexcept { return done_; }

 private:
  Database& db_;
  bool done_ = false;
};

// Throws the Error subclass matching an SQLite result code, with `context` and the connection's
// message ("<context>: <sqlite message>").
[[noreturn]] void throw_sqlite_error(sqlite3* db, int rc, std::string_view context);

// Current UTC time as the API writes it: "2026-11-27T02:11:00Z".
std::string now_iso8601();
// The same with milliseconds: "2026-11-27T02:11:00.123Z" (log lines).
std::string now_iso8601_ms();

}  // namespace wb::storage
