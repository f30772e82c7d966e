#!/usr/bin/env python3
"""Benchmark of exercise 08: HikariCP's connection and statement cycles through the pool, against
a naive pool, a connection per query and the notes' SQLAlchemy QueuePool, side by side.

Cycles (HikariCP's benchmark):
  connection   acquire, release
  statement    acquire, SELECT 1, release
with threads = pool size (uncontended) and 2 x pool size (contended; --contention adds more
multiples, such as 16 for a herd of waiters), on SQLite (a file in WAL
mode) and, when PostgreSQL's server is installed, on a throw-away PostgreSQL server on
127.0.0.1 (run as `nobody` when this script runs as root: PostgreSQL refuses root).

Peers:
  pool        your Pool (pool_bench --peer pool); every pool is filled to its size before the
              clock starts
  bag         the course's going-further variant of the reference, whose common cycle takes no
              lock (solutions/08-connection-pool/going-further/concurrent-bag; its pool_bench
              --peer pool), when it is built
  handoff     the strictly fair hand-off: a release hands the connection to the longest
              waiter itself, so no running thread can take it first (pool_bench --peer handoff)
  naive       one mutex, one condition variable, notify_all on release, connections opened
              under the lock (pool_bench --peer naive)
  per-query   no pool: open a connection, run the cycle, close it
  QueuePool   SQLAlchemy's QueuePool, the notes' pool (bench/notes_queuepool.py with
              /usr/bin/python3; needs python3-sqlalchemy, and python3-psycopg2 for PostgreSQL)
Printed: the median cycles per second of --runs runs and each peer's ratio to your pool and to
the naive pool; then
HikariCP's spike scenario (50 threads at once, create 150 ms, query 2 ms, max 50, min idle 5):
the connections your pool and the naive pool made.

    cmake --preset release
    cmake --build build/release --target 08-connection-pool_pool_bench_solutions \
        08-connection-pool_pool_bench_going-further-concurrent-bag
    python3 exercises/08-connection-pool/bench/run_bench.py [--impl exercises] [--runs 5]

No timing thresholds: read the ratios. On 2 cores, run it on a quiet machine.
"""
import argparse
import glob
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PYTHON = "/usr/bin/python3"


def value_of(output, key):
    for line in output.splitlines():
        if line.startswith(key + "="):
            return float(line.split("=", 1)[1])
    raise RuntimeError("no %s= in %r" % (key, output[-300:]))


def run_output(command):
    process = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if process.returncode != 0:
        raise RuntimeError("%s exited with %d: %s" % (command[0], process.returncode,
                                                      process.stderr[-400:]))
    return process.stdout


def run_value(command, key):
    return value_of(run_output(command), key)


class Postgres:
    """A throw-away PostgreSQL server in a temporary folder, or None if it cannot run here."""

    def __init__(self, workdir):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL's server is not installed (install-deps --extras)")
        self.bin = os.path.dirname(bins[-1])
        self.dir = os.path.join(workdir, "pg")
        os.mkdir(self.dir)
        self.prefix = []
        if os.geteuid() == 0:  # PostgreSQL refuses root: run it as nobody
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            os.chmod(workdir, 0o755)
            self.prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data(), "-A", "trust", "-U",
                   "course", "-E", "UTF8", "--locale=C", "--no-sync"])
        options = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off "
                   "-c synchronous_commit=off -c max_connections=200" % (self.port, self.dir))
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data(), "-w", "-l",
                   os.path.join(self.dir, "server.log"), "-o", options, "start"])

    def data(self):
        return os.path.join(self.dir, "data")

    def conninfo(self):
        return "host=127.0.0.1 port=%d user=course dbname=postgres" % self.port

    def _run(self, command):
        subprocess.run(self.prefix + command, check=True, capture_output=True, cwd=self.dir)

    def stop(self):
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data(), "-m", "immediate",
                   "stop"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    parser.add_argument("--impl", default="solutions", choices=["solutions", "exercises"])
    parser.add_argument("--size", type=int, default=4, help="connections in each pool")
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contention", default="1,2",
                        help="threads as multiples of --size, comma-separated (default 1,2)")
    args = parser.parse_args()

    tools = os.path.join(args.build, "tools", "08-connection-pool")
    bench = os.path.join(tools, args.impl, "pool_bench")
    if not os.path.exists(bench):
        sys.exit("missing %s: build it in the release preset (see --help)" % bench)
    bag = os.path.join(tools, "going-further-concurrent-bag", "pool_bench")
    if not os.path.exists(bag):
        print("bag rows skipped: build 08-connection-pool_pool_bench_going-further-concurrent-bag "
              "in the release preset (see --help)")
        bag = None
    have_sqlalchemy = subprocess.run([PYTHON, "-c", "import sqlalchemy"],
                                     capture_output=True).returncode == 0
    have_psycopg2 = subprocess.run([PYTHON, "-c", "import psycopg2"],
                                   capture_output=True).returncode == 0

    workdir = tempfile.mkdtemp(prefix="pool-bench-")
    postgres = None
    try:
        backends = [("sqlite", ["--backend", "sqlite", "--db", os.path.join(workdir, "b.db")],
                     ["--backend", "sqlite", "--db", os.path.join(workdir, "b.db")])]
        try:
            postgres = Postgres(workdir)
            backends.append(("postgres", ["--backend", "postgres", "--conninfo",
                                          postgres.conninfo()],
                             ["--backend", "postgres", "--port", str(postgres.port)]))
        except (RuntimeError, subprocess.CalledProcessError, OSError) as error:
            print("PostgreSQL rows skipped: %s" % error)
        if not have_sqlalchemy:
            print("QueuePool rows skipped: python3-sqlalchemy is not installed")

        print("pool size %d; median cycles/s of %d runs of %.1f s each; ratio = peer / your pool"
              % (args.size, args.runs, args.seconds))
        print("slowest = the slowest thread's cycles over the mean per thread (1: every thread "
              "got its turn)")
        print("%-9s %-10s %-7s %-10s %12s %8s %9s %8s" % ("backend", "cycle", "threads", "peer",
                                                            "cycles/s", "ratio", "vs naive",
                                                            "slowest"))
        for backend, bench_args, python_args in backends:
            for cycle in ("connection", "statement"):
                for threads in [int(m) * args.size for m in args.contention.split(",")]:
                    common = ["--cycle", cycle, "--threads", str(threads), "--size",
                              str(args.size), "--seconds", str(args.seconds)]
                    peers = [(peer, [bench] + bench_args + ["--peer", peer] + common)
                             for peer in ("pool", "handoff", "naive", "per-query")]
                    if bag:
                        peers.insert(1, ("bag", [bag] + bench_args + ["--peer", "pool"] + common))
                    if have_sqlalchemy and (backend == "sqlite" or have_psycopg2):
                        peers.append(("QueuePool", [PYTHON, os.path.join(HERE, "notes_queuepool.py")]
                                      + python_args + common))
                    medians = {}
                    shares = {}
                    for name, command in peers:
                        outputs = [run_output(command) for _ in range(args.runs)]
                        medians[name] = statistics.median(
                            value_of(out, "cycles_per_second") for out in outputs)
                        shares[name] = statistics.median(
                            value_of(out, "slowest_thread_share") for out in outputs)
                    for name, _ in peers:
                        print("%-9s %-10s %-7d %-10s %12.0f %7.2fx %8.2fx %8.2f"
                              % (backend, cycle, threads, name, medians[name],
                                 medians[name] / medians["pool"],
                                 medians[name] / medians["naive"], shares[name]))
        print()
        spikes = [("pool", bench, "pool"), ("naive", bench, "naive")]
        if bag:
            spikes.insert(1, ("bag", bag, "pool"))
        for name, binary, peer in spikes:
            made = run_value([binary, "--spike", "--peer", peer], "connections")
            print("spike (50 threads, create 150 ms, query 2 ms, max 50, 5 idle): %-5s made %d "
                  "connections in all" % (name, made))
    finally:
        if postgres is not None:
            try:
                postgres.stop()
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
