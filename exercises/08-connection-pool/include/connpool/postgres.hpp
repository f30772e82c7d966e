// Given: PostgreSQL connections for the pool, through libpq. Connecting and validating never
// block longer than their timeouts: both run libpq's non-blocking calls and wait on the socket
// with poll(), in slices, so a stop request ends a connection attempt too.
#pragma once

#include <cstdint>
#include <stop_token>
#include <string>

#include "connpool/api.hpp"

struct pg_conn;

namespace connpool {

class PgConnection {
 public:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  PgConnection(PgConnection&& other) noexcept;
  PgConnection& operator=(PgConnection&& other) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection() { close(); }

  // Runs one or more statements; throws DatabaseError (with the SQLSTATE when the server sent
  // one).
  void execute(const std::string& sql);
  // The first column of the first row of a query, as an integer; throws DatabaseError.
  std::int64_t query_int(const std::string& sql);
  [[nodiscard]] bool is_open() const { return conn_ != nullptr; }
  // True once a statement failed in a way that ends the session: the connection was lost, or
  // the server ended it (SQLSTATE class 08, 57P01 to 57P03, as after pg_terminate_backend or a
  // restart). Such a connection never works again.
  [[nodiscard]] bool broken() const { return broken_; }
  void close() noexcept;
  [[nodiscard]] pg_conn* handle() const { return conn_; }

 private:
  pg_conn* conn_ = nullptr;
  bool broken_ = false;
};

class PgFactory : public Factory<PgConnection> {
 public:
  // `conninfo`: libpq's "host=127.0.0.1 port=5432 user=... dbname=...". A connection attempt
  // that takes longer than `connect_timeout` fails.
  explicit PgFactory(std::string conninfo, milliseconds connect_timeout = milliseconds(5000));
  PgConnection create(const std::stop_token& stop) override;
  // Runs SELECT 1; false if no answer comes within `timeout`.
  bool validate(PgConnection& connection, milliseconds timeout) override;
  void close(PgConnection& connection) noexcept override { connection.close(); }
  // PgConnection::broken(): its last statement found the session ended.
  bool is_broken(const PgConnection& connection) noexcept override { return connection.broken(); }

 private:
  std::string conninfo_;
  milliseconds connect_timeout_;
};

}  // namespace connpool
