// Given: SQLite connections for the pool. The database is one file in WAL mode, so readers go
// on while one writer writes; a writer that finds the file locked retries for up to 5 s
// (busy_timeout) before it fails. Each connection is used by one thread at a time, which the
// pool guarantees.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stop_token>
#include <string>

#include "connpool/api.hpp"

struct sqlite3;

namespace connpool {

class SqliteConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  SqliteConnection(SqliteConnection&& other) noexcept;
  SqliteConnection& operator=(SqliteConnection&& other) noexcept;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection() { close(); }

  // Runs one or more statements; throws DatabaseError.
  void execute(const std::string& sql);
  // The first column of the first row of a query, as an integer; throws DatabaseError, and if
  // the query gives no row.
  std::int64_t query_int(const std::string& sql);
  [[nodiscard]] bool is_open() const { return db_ != nullptr; }
  void close() noexcept;

 private:
  sqlite3* db_ = nullptr;
};

class SqliteFactory : public Factory<SqliteConnection> {
 public:
  // Connections to `file` (created if missing).
  explicit SqliteFactory(std::filesystem::path file);
  SqliteConnection create(const std::stop_token& stop) override;
  // Runs SELECT 1.
  bool validate(SqliteConnection& connection, milliseconds timeout) override;
  void close(SqliteConnection& connection) noexcept override { connection.close(); }

 private:
  std::filesystem::path file_;
};

}  // namespace connpool
