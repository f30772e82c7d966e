#include "connpool/sqlite.hpp"

#include <sqlite3.h>

#include <utility>

namespace connpool {

namespace {

DatabaseError error_of(sqlite3* db, const std::string& what) {
  return DatabaseError("SQLite: " + what + ": " +
                       (db != nullptr ? sqlite3_errmsg(db) : "no memory"));
}

}  // namespace

SqliteConnection::SqliteConnection(SqliteConnection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

SqliteConnection& SqliteConnection::operator=(SqliteConnection&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

void SqliteConnection::close() noexcept {
  if (db_ != nullptr) sqlite3_close_v2(std::exchange(db_, nullptr));
}

void SqliteConnection::execute(const std::string& sql) {
  if (db_ == nullptr) throw DatabaseError("SQLite: the connection is closed");
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw DatabaseError("SQLite: " + text + " (in: " + sql + ")");
  }
}

std::int64_t SqliteConnection::query_int(const std::string& sql) {
  if (db_ == nullptr) throw DatabaseError("SQLite: the connection is closed");
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    throw error_of(db_, sql);
  }
  const int step = sqlite3_step(statement);
  const std::int64_t value = step == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : 0;
  sqlite3_finalize(statement);
  if (step != SQLITE_ROW) throw error_of(db_, sql + " gave no row");
  return value;
}

SqliteFactory::SqliteFactory(std::filesystem::path file) : file_(std::move(file)) {}

SqliteConnection SqliteFactory::create(const std::stop_token& /*stop*/) {
  sqlite3* db = nullptr;
  // NOMUTEX: SQLite's own lock per connection is not needed; the pool lends a connection to
  // one thread at a time.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(file_.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    const DatabaseError error = error_of(db, "cannot open " + file_.string());
    sqlite3_close_v2(db);
    throw error;
  }
  SqliteConnection connection(db);
  sqlite3_busy_timeout(db, 5000);
  connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  return connection;
}

bool SqliteFactory::validate(SqliteConnection& connection, milliseconds /*timeout*/) {
  // A local file answers at once or not at all: the timeout has nothing to bound.
  try {
    return connection.is_open() && connection.query_int("SELECT 1") == 1;
  } catch (const DatabaseError&) {
    return false;
  }
}

}  // namespace connpool
