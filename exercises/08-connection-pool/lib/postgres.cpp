#include "connpool/postgres.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace connpool {

namespace {

using SteadyClock = std::chrono::steady_clock;

// How long one poll() may last: a stop request is noticed within this.
constexpr milliseconds kSlice{50};

std::string message_of(const PGconn* conn) {
  std::string text = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Waits until the socket is ready for `events` or `deadline`; true if it is ready.
bool wait_socket(int socket, short events, SteadyClock::time_point deadline,
                 const std::stop_token* stop = nullptr) {
  while (SteadyClock::now() < deadline && (stop == nullptr || !stop->stop_requested())) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
    pollfd fd{socket, events, 0};
    const int ready =
        ::poll(&fd, 1, static_cast<int>(std::clamp(left, milliseconds(1), kSlice).count()));
    if (ready > 0) return true;
  }
  return false;
}

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// Whether an error ends the session: libpq lost the connection, or the server said so with a
// connection-class SQLSTATE (class 08), or ended the session itself (57P01 admin_shutdown,
// 57P02 crash_shutdown, 57P03 cannot_connect_now).
bool ends_the_session(const PGconn* conn, const PGresult* result) {
  if (PQstatus(conn) == CONNECTION_BAD || result == nullptr) return true;
  const char* field = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string_view state = field != nullptr ? field : "";
  return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03";
}

// Runs `sql`; throws DatabaseError, after setting `broken` if the error ended the session.
Result run(PGconn* conn, bool& broken, const std::string& sql) {
  if (conn == nullptr) throw DatabaseError("PostgreSQL: the connection is closed");
  Result result(PQexec(conn, sql.c_str()));
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    if (ends_the_session(conn, result.get())) broken = true;
    const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
    throw DatabaseError("PostgreSQL: " + message_of(conn) +
                        (state != nullptr ? std::string(" (SQLSTATE ") + state + ")" : "") +
                        " (in: " + sql + ")");
  }
  return result;
}

}  // namespace

PgConnection::PgConnection(PgConnection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)), broken_(std::exchange(other.broken_, false)) {}

PgConnection& PgConnection::operator=(PgConnection&& other) noexcept {
  if (this != &other) {
    close();
    conn_ = std::exchange(other.conn_, nullptr);
    broken_ = std::exchange(other.broken_, false);
  }
  return *this;
}

void PgConnection::close() noexcept {
  if (conn_ != nullptr) PQfinish(std::exchange(conn_, nullptr));
}

void PgConnection::execute(const std::string& sql) { run(conn_, broken_, sql); }

std::int64_t PgConnection::query_int(const std::string& sql) {
  const Result result = run(conn_, broken_, sql);
  if (PQntuples(result.get()) < 1 || PQnfields(result.get()) < 1) {
    throw DatabaseError("PostgreSQL: " + sql + " gave no row");
  }
  return std::stoll(PQgetvalue(result.get(), 0, 0));
}

PgFactory::PgFactory(std::string conninfo, milliseconds connect_timeout)
    : conninfo_(std::move(conninfo)), connect_timeout_(connect_timeout) {}

PgConnection PgFactory::create(const std::stop_token& stop) {
  PgConnection connection(PQconnectStart(conninfo_.c_str()));
  PGconn* conn = connection.handle();
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) {
    throw DatabaseError("PostgreSQL: cannot connect: " + message_of(conn));
  }
  const auto deadline = SteadyClock::now() + connect_timeout_;
  // libpq's asynchronous connection: poll in the direction it asks for until it says OK.
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) {
      throw DatabaseError("PostgreSQL: cannot connect: " + message_of(conn));
    }
    const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!wait_socket(PQsocket(conn), events, deadline, &stop)) {
      throw DatabaseError(stop.stop_requested()
                              ? "PostgreSQL: connecting was stopped"
                              : "PostgreSQL: no connection within " +
                                    std::to_string(connect_timeout_.count()) + " ms");
    }
    state = PQconnectPoll(conn);
  }
  // The server's notices ("table does not exist, skipping") would go to stderr.
  PQsetNoticeProcessor(
      conn, [](void* /*arg*/, const char* /*message*/) {}, nullptr);
  return connection;
}

bool PgFactory::validate(PgConnection& connection, milliseconds timeout) {
  PGconn* conn = connection.handle();
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return false;
  if (PQsendQuery(conn, "SELECT 1") == 0) return false;
  const auto deadline = SteadyClock::now() + timeout;
  bool ok = false;
  while (true) {
    while (PQisBusy(conn) != 0) {
      if (!wait_socket(PQsocket(conn), POLLIN, deadline) || PQconsumeInput(conn) == 0) {
        return false;  // no answer in time, or the connection broke: the pool closes it
      }
    }
    const Result result(PQgetResult(conn));
    if (!result) return ok;
    ok = PQresultStatus(result.get()) == PGRES_TUPLES_OK;
  }
}

}  // namespace connpool
