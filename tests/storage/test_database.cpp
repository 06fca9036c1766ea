// RAII wrappers over SQLite: Database pragmas, Statement binding/columns, Transaction rollback.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "storage_test_util.h"
#include "wb/storage/database.h"
#include "wb/storage/error.h"

using namespace wb::storage;
using wb::storage::test::TempDir;

namespace {

std::int64_t count(Database& db, const std::string& table) {
  auto st = db.prepare("SELECT count(*) FROM " + table);
  st.step();
  return st.column_int64(0);
}

}  // namespace

TEST_CASE("Database opens a new file with WAL, foreign keys and synchronous NORMAL") {
  TempDir dir;
  Database db(dir / "a.db");
  CHECK(std::filesystem::exists(dir / "a.db"));
  CHECK(db.journal_mode() == "wal");
  auto fk = db.prepare("PRAGMA foreign_keys");
  REQUIRE(fk.step());
  CHECK(fk.column_int64(0) == 1);
  auto sync = db.prepare("PRAGMA synchronous");
  REQUIRE(sync.step());
  CHECK(sync.column_int64(0) == 1);  // NORMAL
  CHECK(db.user_version() == 0);
  CHECK(db.integrity_check() == "ok");
}

TEST_CASE("Database without create refuses a missing file, a non-database file is an error") {
  TempDir dir;
  OpenOptions no_create;
  no_create.create = false;
  CHECK_THROWS_AS(Database(dir / "missing.db", no_create), NotFound);
  CHECK_FALSE(std::filesystem::exists(dir / "missing.db"));

  wb::storage::test::write_file(dir / "junk.db", std::string(4096, 'x'));
  try {
    Database junk(dir / "junk.db");
    FAIL("opening a junk file must throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("not a database") != std::string::npos);
  }
  CHECK(wb::storage::test::read_file(dir / "junk.db") == std::string(4096, 'x'));
}

TEST_CASE("Statement binds by index and by name and reads every column type") {
  TempDir dir;
  Database db(dir / "a.db");
  db.exec("CREATE TABLE t (i INTEGER, r REAL, s TEXT, n TEXT)");
  auto ins = db.prepare("INSERT INTO t (i, r, s, n) VALUES (:i, :r, :s, :n)");
  ins.bind(":i", std::int64_t{1} << 40).bind(":r", 2.5).bind(":s", std::string("héllo\0x", 7)).bind(":n", nullptr);
  ins.run();
  CHECK(db.changes() == 1);
  CHECK(db.last_insert_rowid() == 1);
  ins.reset();
  ins.bind(1, 7).bind(2, -1.0).bind(3, "second").bind(4, std::optional<std::string>("set"));
  ins.run();

  auto sel = db.prepare("SELECT i, r, s, n FROM t ORDER BY rowid");
  REQUIRE(sel.step());
  CHECK(sel.column_count() == 4);
  CHECK(sel.column_int64(0) == (std::int64_t{1} << 40));
  CHECK(sel.column_double(1) == 2.5);
  CHECK(sel.column_text(2) == std::string("héllo\0x", 7));  // embedded NUL kept (length-based)
  CHECK(sel.is_null(3));
  CHECK_FALSE(sel.column_optional_text(3).has_value());
  REQUIRE(sel.step());
  CHECK(sel.column_int64(0) == 7);
  CHECK(sel.column_optional_text(3) == std::optional<std::string>("set"));
  CHECK_FALSE(sel.step());

  CHECK_THROWS_AS(ins.bind(":nope", 1), Error);
  CHECK_THROWS_AS(db.prepare("SELEKT 1"), Error);
}

TEST_CASE("Constraint violations map to Conflict and Invalid") {
  TempDir dir;
  Database db(dir / "a.db");
  db.exec("CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL CHECK (name <> ''));"
          "CREATE TABLE c (p_id INTEGER REFERENCES p(id))");
  db.exec("INSERT INTO p (name) VALUES ('x')");
  CHECK_THROWS_AS(db.exec("INSERT INTO p (name) VALUES ('x')"), Conflict);
  CHECK_THROWS_AS(db.exec("INSERT INTO p (name) VALUES ('')"), Invalid);
  CHECK_THROWS_AS(db.exec("INSERT INTO p (name) VALUES (NULL)"), Invalid);
  CHECK_THROWS_AS(db.exec("INSERT INTO c (p_id) VALUES (42)"), Invalid);  // foreign keys are on
  try {
    db.exec("INSERT INTO p (name) VALUES ('x')");
  } catch (const Conflict& e) {
    CHECK(std::string(e.what()).find("UNIQUE constraint failed: p.name") != std::string::npos);
    CHECK(e.code() == ErrorCode::Conflict);
    CHECK(e.sqlite_code() != 0);
  }
}

TEST_CASE("Transaction commits, and rolls back when an exception unwinds past it") {
  TempDir dir;
  Database db(dir / "a.db");
  db.exec("CREATE TABLE t (v INTEGER)");
  {
    Transaction tx(db);
    db.exec("INSERT INTO t VALUES (1)");
    tx.commit();
    CHECK(tx.committed());
  }
  CHECK(count(db, "t") == 1);

  CHECK_THROWS_AS(([&] {
                    Transaction tx(db);
                    db.exec("INSERT INTO t VALUES (2)");
                    db.exec("INSERT INTO t VALUES (3)");
                    throw std::runtime_error("boom");
                  }()),
                  std::runtime_error);
  CHECK(count(db, "t") == 1);

  {
    Transaction tx(db);  // never committed: destructor rolls back
    db.exec("INSERT INTO t VALUES (4)");
  }
  CHECK(count(db, "t") == 1);

  // After a rollback the connection is usable for a new transaction.
  Transaction tx(db);
  db.exec("INSERT INTO t VALUES (5)");
  tx.commit();
  CHECK(count(db, "t") == 2);
}

TEST_CASE("A second connection sees committed data and waits for the writer lock") {
  TempDir dir;
  Database a(dir / "a.db");
  a.exec("CREATE TABLE t (v INTEGER)");
  OpenOptions quick;
  quick.busy_timeout_ms = 50;
  Database b(dir / "a.db", quick);
  {
    Transaction tx(a);
    a.exec("INSERT INTO t VALUES (1)");
    CHECK(count(b, "t") == 0);  // WAL: readers see the last commit
    CHECK_THROWS_AS(Transaction(b), Error);  // BEGIN IMMEDIATE times out while a writes
    tx.commit();
  }
  CHECK(count(b, "t") == 1);
}

TEST_CASE("Database is movable and closes once") {
  TempDir dir;
  Database a(dir / "a.db");
  a.exec("CREATE TABLE t (v INTEGER)");
  Database b(std::move(a));
  CHECK(a.handle() == nullptr);
  b.exec("INSERT INTO t VALUES (1)");
  CHECK(count(b, "t") == 1);
  auto st = b.prepare("SELECT v FROM t");
  Statement moved(std::move(st));
  REQUIRE(moved.step());
  CHECK(moved.column_int64(0) == 1);
}
