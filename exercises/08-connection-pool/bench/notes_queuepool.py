#!/usr/bin/env python3
"""The notes' pool: SQLAlchemy's QueuePool, running HikariCP's cycles as pool_bench does.

    notes_queuepool.py --backend sqlite --db FILE --cycle statement --threads 8 --size 4
    notes_queuepool.py --backend postgres --port 5432 --cycle connection ...

Prints `cycles_per_second=N` and `slowest_thread_share=S`, as pool_bench does. Works on the
pool itself (engine.pool.connect() and close()), as HikariCP's benchmark works on getConnection()
and close(), and gives it the same work as the C++ pools:
- pool_pre_ping off (pool_bench's pool skips validation of a connection given back within
  500 ms, which every cycle here is);
- autocommit, as libpq and SQLite's C API run a statement: without it, psycopg2 opens a
  transaction before SELECT 1 (BEGIN), and the pool's reset on return ends it (ROLLBACK), three
  round trips where the C++ pools make one;
- no reset on return (pool_reset_on_return=None): the C++ pools do not reset either;
- a pool filled to its size before the clock starts, as every peer of pool_bench.
"""
import argparse
import threading
import time

from sqlalchemy import create_engine, event
from sqlalchemy.pool import QueuePool


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--db", help="SQLite: the database file")
    parser.add_argument("--port", type=int, help="PostgreSQL: the server's port on 127.0.0.1")
    parser.add_argument("--cycle", choices=["connection", "statement"], default="statement")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--size", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()

    if args.backend == "sqlite":
        url = f"sqlite:///{args.db}"
        # isolation_level None: the sqlite3 module's autocommit mode.
        connect_args = {"check_same_thread": False, "isolation_level": None}
    else:
        url = f"postgresql+psycopg2://course@127.0.0.1:{args.port}/postgres"
        connect_args = {}
    engine = create_engine(url, poolclass=QueuePool, pool_size=args.size, max_overflow=0,
                           pool_timeout=30, pool_reset_on_return=None,
                           connect_args=connect_args)
    if args.backend == "postgres":
        @event.listens_for(engine, "connect")
        def autocommit(dbapi_connection, _record):
            dbapi_connection.autocommit = True
    pool = engine.pool
    warm = [pool.connect() for _ in range(args.size)]  # a full pool from the start
    for connection in warm:
        connection.close()

    stop = threading.Event()
    ready = threading.Barrier(args.threads + 1)
    counts = [0] * args.threads

    def worker(index):
        ready.wait()
        mine = 0
        while not stop.is_set():
            connection = pool.connect()
            if args.cycle == "statement":
                cursor = connection.cursor()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                cursor.close()
            connection.close()  # back to the pool
            mine += 1
        counts[index] = mine

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.threads)]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.monotonic()
    time.sleep(args.seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    print(f"cycles_per_second={sum(counts) / elapsed:.0f}")
    mean = sum(counts) / len(counts)
    print(f"slowest_thread_share={min(counts) / mean if mean else 0:.3f}")
    engine.dispose()


if __name__ == "__main__":
    main()
