#!/usr/bin/env python3
"""Benchmark of exercise 05: the chat server against ngircd and the notes' asyncio server.

C clients join one room and S of them send numbered, timestamped messages for --seconds, each
with at most --window messages in flight (chat_load, one epoll thread); every client counts what
it receives. Printed per server and C: messages delivered per second and the p50/p99 delivery
latency, the median of --runs runs, and the ratios to the exercise's server on one thread.
Servers: the exercise's chat_server on 1 and 2 loop threads, ngircd (when installed; configured
by tests/ngircd.conf.in: no flood penalties) and the notes' asyncio server (when /usr/bin/python3
is there). Then --idle registered clients that say nothing are held on each server, and its
memory per connection is reported (resident memory with them minus without, divided by their
number).

    cmake --preset release && cmake --build build/release --target \\
        05-chat-server_chat_server_exercises 05-chat-server_chat_load_exercises
    python3 exercises/05-chat-server/bench/run_bench.py [--impl exercises|solutions]

The load generator runs on the same machine: on 2 cores it takes one of them, which bounds what
a second loop thread can add. No timing thresholds: the figures depend on the machine; read the
ratios.
"""
import argparse
import json
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXERCISE = os.path.dirname(HERE)
ROOT = os.path.abspath(os.path.join(EXERCISE, "..", ".."))
PYTHON = "/usr/bin/python3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, process, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited with code %s" % process.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not listen on port %d" % port)


class Server:
    def __init__(self, name, command, port, workdir=None):
        self.name, self.port = name, port
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, cwd=workdir)
        wait_listening(port, self.process)

    def rss_kib(self):
        with open("/proc/%d/status" % self.process.pid) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(kind, tools, scratch):
    port = free_port()
    if kind == "course-1":
        return Server("chat_server, 1 thread", [tools["chat_server"], "--port", str(port),
                                                 "--quiet", "--threads", "1"], port)
    if kind == "course-2":
        return Server("chat_server, 2 threads", [tools["chat_server"], "--port", str(port),
                                                  "--quiet", "--threads", "2"], port)
    if kind == "ngircd":
        directory = tempfile.mkdtemp(dir=scratch)
        with open(os.path.join(EXERCISE, "tests", "ngircd.conf.in")) as template:
            text = template.read().replace("@PORT@", str(port)).replace("@DIR@", directory)
        config = os.path.join(directory, "ngircd.conf")
        with open(config, "w") as out:
            out.write(text)
        return Server("ngircd 26 (1 thread)", [tools["ngircd"], "--nodaemon", "--config", config],
                      port)
    if kind == "python":
        return Server("notes' asyncio (Python)", [PYTHON, os.path.join(HERE, "notes_asyncio_chat.py"),
                                                  "--port", str(port)], port)
    raise ValueError(kind)


def load(tools, port, clients, senders, seconds, window):
    result = subprocess.run([tools["chat_load"], "--port", str(port), "--clients", str(clients),
                             "--senders", str(senders), "--seconds", str(seconds),
                             "--window", str(window)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    return json.loads(result.stdout.strip().splitlines()[-1])


def hold_idle(tools, server, count, hold, patience=150.0):
    """Opens `count` registered clients that say nothing; returns (KiB per connection, problem)."""
    before = server.rss_kib()
    generator = subprocess.Popen([tools["chat_load"], "--port", str(server.port), "--idle",
                                  str(count), "--hold", str(hold)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([generator.stdout], [], [], patience)
        line = generator.stdout.readline() if ready else ""
        if not line.startswith('{"ready"'):
            return None, "the %d clients were not all registered within %.0f s" % (count, patience)
        time.sleep(0.5)  # let the server finish the last registrations' bookkeeping
        after = server.rss_kib()
        outcome = json.loads(generator.stdout.readline() or "{}")
        if outcome.get("closed", 0):
            return None, "%d of %d connections were closed" % (outcome["closed"], count)
        return (after - before) / count, ""
    finally:
        generator.kill()
        generator.wait()


def find_tools(impl):
    tools = {}
    for tool in ("chat_server", "chat_load"):
        path = os.path.join(ROOT, "build", "release", "tools", "05-chat-server", impl, tool)
        if not os.access(path, os.X_OK):
            sys.exit("run_bench: %s is missing; build it first:\n  cmake --preset release && "
                     "cmake --build build/release --target 05-chat-server_chat_server_%s "
                     "05-chat-server_chat_load_%s" % (path, impl, impl))
        tools[tool] = path
    tools["ngircd"] = shutil.which("ngircd") or ("/usr/sbin/ngircd" if os.access(
        "/usr/sbin/ngircd", os.X_OK) else None)
    return tools


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="exercises", choices=["exercises", "solutions"])
    parser.add_argument("--clients", default="10,100,1000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--idle", type=int, default=500)
    args = parser.parse_args()
    tools = find_tools(args.impl)

    kinds = ["course-1", "course-2"]
    if tools["ngircd"]:
        kinds.append("ngircd")
    else:
        print("ngircd is not installed (grader/install-deps --extras installs it): not compared")
    if os.access(PYTHON, os.X_OK):
        kinds.append("python")
    else:
        print("%s is missing: the notes' asyncio server is not compared" % PYTHON)

    print("chat_load: C clients in one room, S senders, window %d, %.0f s per run, median of %d"
          % (args.window, args.seconds, args.runs))
    print("%-6s %-4s %-26s %14s %9s %9s %8s" % ("C", "S", "server", "delivered/s", "p50 ms",
                                                "p99 ms", "ratio"))
    scratch = tempfile.mkdtemp(prefix="chat-bench-")
    try:
        for clients in [int(c) for c in args.clients.split(",")]:
            senders = 2 if clients <= 10 else 10
            baseline = None
            for kind in kinds:
                server = start(kind, tools, scratch)
                try:
                    runs = [load(tools, server.port, clients, senders, args.seconds, args.window)
                            for _ in range(args.runs)]
                except (RuntimeError, subprocess.TimeoutExpired) as error:
                    print("%-6d %-4d %-26s failed: %s" % (clients, senders, server.name, error))
                    continue
                finally:
                    server.stop()
                rate = statistics.median(r["per_second"] for r in runs)
                p50 = statistics.median(r["p50_ms"] for r in runs)
                p99 = statistics.median(r["p99_ms"] for r in runs)
                dropped = sum(r["dropped"] for r in runs)
                if baseline is None:
                    baseline = rate
                print("%-6d %-4d %-26s %14.0f %9.3f %9.3f %7.2fx%s" % (
                    clients, senders, server.name, rate, p50, p99, rate / baseline,
                    "  (%d clients dropped)" % dropped if dropped else ""))
        print()
        print("%d idle registered connections:" % args.idle)
        for kind in kinds:
            if kind == "course-2":
                continue
            server = start(kind, tools, scratch)
            try:
                per_connection, problem = hold_idle(tools, server, args.idle, 2.0)
            finally:
                server.stop()
            if per_connection is None:
                print("  %-26s failed: %s" % (server.name, problem))
            else:
                print("  %-26s %6.1f KiB per connection" % (server.name, per_connection))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
