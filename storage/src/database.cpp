// RAII wrappers over sqlite3 / sqlite3_stmt and the IMMEDIATE transaction guard.
#include "wb/storage/database.h"

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <ctime>
#include <thread>
#include <cerrno>
#include <cstring>
#include <utility>

#include "wb/storage/error.h"

namespace wb::storage {

namespace {

// A failed write whose errno SQLite no longer has (a failed COMMIT rolls back, and the rollback's
// calls overwrite errno): the disk is full when its file system has (almost) no room left, or the
// database or its WAL has reached the process's file-size limit (RLIMIT_FSIZE).
int probable_space_errno(sqlite3* db) {
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  if (!file || !*file) return 0;
  const std::filesystem::path path(file);
  struct statvfs vfs {};
  if (::statvfs(path.parent_path().c_str(), &vfs) == 0 &&
      static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize < (1u << 20))
    return ENOSPC;
  struct rlimit lim {};
  if (::getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    for (const std::string suffix : {"", "-wal", "-journal"}) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(path.string() + suffix, ec);
      if (!ec && size + 64 * 1024 >= lim.rlim_cur) return EFBIG;
    }
  }
  return 0;
}

}  // namespace

void throw_sqlite_error(sqlite3* db, int rc, std::string_view context) {
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  std::string msg(context);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  // Out of space: SQLITE_FULL, or a failed write whose errno says so (EFBIG: the file-size limit).
  int sys = db ? sqlite3_system_errno(db) : 0;
  if (ext == SQLITE_IOERR_WRITE && sys == 0) sys = probable_space_errno(db);
  if ((ext & 0xff) == SQLITE_FULL ||
      ((ext & 0xff) == SQLITE_IOERR && (sys == ENOSPC || sys == EFBIG || sys == EDQUOT))) {
    throw Error(msg + " (disk full" + (sys ? std::string(": ") + std::strerror(sys) : std::string()) +
                    "); nothing was changed",
                ErrorCode::DiskFull, ext);
  }
  switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      throw Conflict(msg, ext);
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      throw Invalid(msg, ext);
    default:
      throw Error(msg, ErrorCode::Internal, ext);
  }
}

namespace {

std::string format_time(bool millis) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (millis) {
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  } else {
    std::snprintf(buf + n, sizeof buf - n, "Z");
  }
  return buf;
}

}  // namespace

std::string now_iso8601() { return format_time(false); }
std::string now_iso8601_ms() { return format_time(true); }

// ---- Database -------------------------------------------------------------------------------

Database::Database(const std::filesystem::path& file, const OpenOptions& options) : path_(file) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(file.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "cannot open database '" + file.string() + "': " +
                      (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close_v2(db_);
    db_ = nullptr;
    if (rc == SQLITE_CANTOPEN && !options.create) throw NotFound(msg, rc);
    throw Error(msg, ErrorCode::Internal, rc);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  try {
    // A file that is not a database fails here ("file is not a database").
    exec("PRAGMA foreign_keys = ON");
    std::string mode = journal_mode();
    if (mode != "wal") {
      // Switching to WAL takes an exclusive lock for which SQLite does not call the busy
      // handler: a second connection opening the same new file at that moment fails at once
      // with SQLITE_BUSY. Retry within the busy timeout.
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
      for (;;) {
        try {
          Statement st(db_, "PRAGMA journal_mode = WAL");
          if (st.step()) mode = st.column_text(0);
          break;
        } catch (const Error& e) {
          if ((e.sqlite_code() & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) throw;
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      }
      if (mode != "wal") throw Error("cannot enable WAL on '" + file.string() + "' (journal_mode " + mode + ")");
    }
    exec("PRAGMA synchronous = NORMAL");
  } catch (const Error& e) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error("cannot open database '" + file.string() + "': " + e.what(), e.code(), e.sqlite_code());
  }
}

Database::~Database() {
  if (db_) sqlite3_close_v2(db_);
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

void Database::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    sqlite3_free(err);
    throw_sqlite_error(db_, rc, "SQL failed");
  }
}

Statement Database::prepare(std::string_view sql) { return Statement(db_, sql); }

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Database::changes() const { return sqlite3_changes(db_); }

int Database::user_version() {
  Statement st(db_, "PRAGMA user_version");
  st.step();
  return static_cast<int>(st.column_int64(0));
}

void Database::set_user_version(int version) {
  exec("PRAGMA user_version = " + std::to_string(version));
}

std::string Database::integrity_check() {
  Statement st(db_, "PRAGMA integrity_check");
  std::string out;
  while (st.step()) {
    if (!out.empty()) out += '\n';
    out += st.column_text(0);
  }
  return out;
}

std::string Database::quick_check() {
  Statement st(db_, "PRAGMA quick_check");
  std::string out;
  while (st.step()) {
    if (!out.empty()) out += '\n';
    out += st.column_text(0);
  }
  return out;
}

std::string Database::journal_mode() {
  Statement st(db_, "PRAGMA journal_mode");
  return st.step() ? st.column_text(0) : std::string();
}

// ---- Statement ------------------------------------------------------------------------------

Statement::Statement(sqlite3* db, std::string_view sql) {
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) throw_sqlite_error(db, rc, "cannot prepare '" + std::string(sql) + "'");
}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

namespace {
void check_bind(sqlite3_stmt* stmt, int rc, int index) {
  if (rc != SQLITE_OK)
    throw_sqlite_error(sqlite3_db_handle(stmt), rc, "cannot bind parameter " + std::to_string(index));
}
}  // namespace

Statement& Statement::bind(int index, std::int64_t value) {
  check_bind(stmt_, sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check_bind(stmt_, sqlite3_bind_double(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  check_bind(stmt_, sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
             index);
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  check_bind(stmt_, sqlite3_bind_null(stmt_, index), index);
  return *this;
}

int Statement::parameter_index(std::string_view name) const {
  int index = sqlite3_bind_parameter_index(stmt_, std::string(name).c_str());
  if (index == 0) throw Error("no SQL parameter named '" + std::string(name) + "'");
  return index;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  // Leave the statement reusable; the error is reported from the connection below.
  std::string context = "SQL step failed";
  if (const char* sql = sqlite3_sql(stmt_)) context += " ('" + std::string(sql) + "')";
  throw_sqlite_error(db, rc, context);
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() { sqlite3_reset(stmt_); }
void Statement::clear_bindings() { sqlite3_clear_bindings(stmt_); }

int Statement::column_count() const { return sqlite3_column_count(stmt_); }
bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
std::int64_t Statement::column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::column_double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::column_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::string> Statement::column_optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_text(column);
}

std::optional<std::int64_t> Statement::column_optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_int64(column);
}

std::optional<double> Statement::column_optional_double(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_double(column);
}

// ---- Transaction ----------------------------------------------------------------------------

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace wb::storage
