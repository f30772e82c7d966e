#!/usr/bin/env python3
"""Benchmark of exercise 03: the asynchronous server against the notes' aiohttp server and the
threaded contrast server, with wrk.

For each server: wrk against / and /fast (operations scaled to 0, so this measures the HTTP path
alone) at 1, 64 and 512 connections, first one request per write, then --pipeline requests per
write (HTTP/1.1 pipelining); the async server runs on ONE thread, like aiohttp. Prints
req/s and the 99th percentile latency, the median of --runs runs, and the ratios. Then holds
--hold concurrent /slow requests on the async server's one thread and reports its memory per
connection. Needs wrk (Debian's `wrk`); aiohttp is compared when /usr/bin/python3 imports it.

    cmake --preset release && cmake --build build/release --target \\
        03-async-server_async_server_exercises 03-async-server_threaded_server_exercises
    python3 exercises/03-async-server/bench/run_bench.py [--impl exercises|solutions] [--duration 3]

(`_solutions` targets and --impl solutions measure the reference, where the course's solutions/
folder is present. The reference's going-further variants run beside it, on one thread too, when
their async_server is built: build/release/tools/03-async-server/going-further-<g>/.)

No timing thresholds: the figures depend on the machine; read the ratios.
"""
import argparse
import os
import re
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
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
    def __init__(self, name, command, port):
        self.name, self.port = name, port
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_listening(port, self.process)

    def rss_kib(self):
        with open("/proc/%d/status" % self.process.pid) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        """User + system CPU time the server has used so far."""
        with open("/proc/%d/stat" % self.process.pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def pipeline_script(depth, directory):
    """A wrk Lua script that sends `depth` requests for the URL's path in each write (HTTP/1.1
    pipelining, as in TechEmpower's plaintext test). wrk counts every answer."""
    path = os.path.join(directory, "pipeline%d.lua" % depth)
    with open(path, "w") as script:
        script.write("init = function(args)\n"
                     "  local one = wrk.format(nil, wrk.path)\n"
                     "  req = string.rep(one, %d)\n"
                     "end\n"
                     "request = function() return req end\n" % depth)
    return path


def wrk(server, path, connections, duration, script=None):
    """(req/s, p99 ms, non-2xx answers, requests per CPU-second of the server)."""
    port = server.port
    threads = min(2, connections)
    cpu_before = server.cpu_seconds()
    command = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency"]
    if script:
        command += ["-s", script]
    out = subprocess.run(command + ["http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    cpu = max(server.cpu_seconds() - cpu_before, 1e-3)
    return rps, p99, int(errors.group(1)) if errors else 0, requests / cpu


def aiohttp_available():
    return os.path.exists(PYTHON) and subprocess.run(
        [PYTHON, "-c", "import aiohttp"], capture_output=True).returncode == 0


def hold(server, n, timeout):
    """Opens n connections, sends GET /slow on each, waits until the server holds them all, reads
    its memory, then collects the answers. Returns (answered, rss_idle, rss_peak, seconds)."""
    rss_idle = server.rss_kib()
    selector = selectors.DefaultSelector()
    request = b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    start = time.monotonic()
    sockets = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(request)
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ, bytearray())
        sockets.append(s)
    rss_peak = server.rss_kib()
    answered = 0
    open_count = n
    deadline = time.monotonic() + timeout
    while open_count and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            try:
                chunk = key.fileobj.recv(65536)
            except ConnectionError:
                chunk = b""
            if chunk:
                key.data.extend(chunk)
                continue
            if key.data.startswith(b"HTTP/1.1 200"):
                answered += 1
            selector.unregister(key.fileobj)
            key.fileobj.close()
            open_count -= 1
        rss_peak = max(rss_peak, server.rss_kib())
    seconds = time.monotonic() - start
    for s in sockets:
        s.close()
    return answered, rss_idle, rss_peak, seconds


def going_further_servers(build):
    """(name, command) of each going-further variant's async_server that is built."""
    tools = os.path.join(build, "tools", "03-async-server")
    found = []
    prefix = "going-further-"
    for entry in sorted(os.listdir(tools)) if os.path.isdir(tools) else []:
        program = os.path.join(tools, entry, "async_server")
        if entry.startswith(prefix) and os.access(program, os.X_OK):
            found.append(("%s (1 thread)" % entry[len(prefix):],
                          lambda p, program=program: [program, "--port", str(p), "--threads", "1",
                                                      "--scale", "0", "--quiet"]))
    return found


def main():
    parser = argparse.ArgumentParser(description="exercise 03 benchmark (wrk)")
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    # The reference where the course's solutions are present (instructors), else the student's.
    default_impl = "solutions" if os.path.isdir(os.path.join(ROOT, "solutions")) else "exercises"
    parser.add_argument("--impl", default=default_impl,
                        help="exercises (your code) or solutions (the reference, instructors only)")
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per figure (median)")
    parser.add_argument("--connections", default="1,64,512")
    parser.add_argument("--pipeline", type=int, default=16,
                        help="requests per write in the pipelined rows (0 skips them)")
    parser.add_argument("--hold", type=int, default=10000, help="0 skips the hold test")
    parser.add_argument("--no-python", action="store_true")
    parser.add_argument("--no-peers", action="store_true",
                        help="skip the going-further variants even when they are built")
    args = parser.parse_args()

    if not shutil.which("wrk"):
        sys.exit("run_bench: wrk is not installed (Debian: apt-get install wrk)")
    tools = os.path.join(args.build, "tools", "03-async-server", args.impl)
    async_server = os.path.join(tools, "async_server")
    threaded_server = os.path.join(tools, "threaded_server")
    for program in (async_server, threaded_server):
        if not os.access(program, os.X_OK):
            sys.exit("run_bench: %s is missing; build it first (see --help)" % program)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it too

    # cpp-httplib answers the first request of a pipelined write and closes the connection
    # (wrk then counts a few dozen answers a second), so the threaded server gets no pipelined
    # rows.
    no_pipelining = {"threaded (64 threads)"}
    servers = [("async (1 thread)", lambda p: [async_server, "--port", str(p), "--threads", "1",
                                                "--scale", "0", "--quiet"]),
               ("threaded (64 threads)", lambda p: [threaded_server, "--port", str(p),
                                                     "--threads", "64", "--scale", "0"])]
    peer_names = set()
    if not args.no_peers and not args.impl.startswith("going-further-"):
        for variant in going_further_servers(args.build):
            servers.append(variant)
            peer_names.add(variant[0])
    if not args.no_python:
        if aiohttp_available():
            servers.append(("aiohttp (notes)", lambda p: [
                PYTHON, os.path.join(HERE, "notes_aiohttp_server.py"), "--port", str(p),
                "--scale", "0"]))
        else:
            print("aiohttp is not importable by %s: comparison skipped" % PYTHON)

    connections = [int(c) for c in args.connections.split(",")]
    # (label, path, wrk script): each path plain, then pipelined.
    scripts_dir = tempfile.mkdtemp(prefix="course-bench-")
    loads = [(path, path, None) for path in ("/", "/fast")]
    if args.pipeline > 1:
        script = pipeline_script(args.pipeline, scripts_dir)
        loads += [("%s p%d" % (path, args.pipeline), path, script) for path in ("/", "/fast")]
    results = {}
    print("wrk, %d s per run, median of %d runs; operations scaled to 0" %
          (args.duration, args.runs))
    if args.pipeline > 1:
        print("'/ p%d': %d pipelined requests per write" % (args.pipeline, args.pipeline))
    print("%-22s %-9s %6s %10s %9s %13s" % ("server", "path", "conns", "req/s", "p99 ms",
                                           "req/CPU-s"))
    for name, command in servers:
        port = free_port()
        server = Server(name, command(port), port)
        try:
            for label, path, script in loads:
                if script and name in no_pipelining:
                    continue
                for c in connections:
                    runs = [wrk(server, path, c, args.duration, script) for _ in range(args.runs)]
                    rps = statistics.median(r[0] for r in runs)
                    p99 = statistics.median(r[1] for r in runs)
                    errors = sum(r[2] for r in runs)
                    per_cpu = statistics.median(r[3] for r in runs)
                    results[(name, label, c)] = (rps, p99, per_cpu)
                    # wrk times only one request of each pipelined write: no percentile there.
                    print("%-22s %-9s %6d %10.0f %9s %13.0f%s" % (
                        name, label, c, rps, "-" if script else "%.2f" % p99, per_cpu,
                        "  (%d non-2xx)" % errors if errors else ""))
                    sys.stdout.flush()
        finally:
            server.stop()

    # wrk shares the machine with the server: on few cores the client, not the server, may be
    # the limit, so the ratio of requests per CPU-second of the server is printed as well.
    # A going-further variant is compared the other way round: variant / reference, so that a
    # number above 1 is what the variant buys.
    reference = servers[0][0]
    variants = [name for name, _ in servers[1:] if name in peer_names]
    others = [name for name, _ in servers[1:] if name not in peer_names]
    rows = [(reference, name) for name in others] + [(name, reference) for name in variants]
    rows += [(name, other) for name in variants for other in others if other not in no_pipelining]
    for title, index in (("req/s", 0), ("req per server CPU-second", 2)):
        print("\nratios of %s" % title)
        print("%-46s %-9s %s" % ("", "path", " ".join("%8s" % ("c=%d" % c) for c in connections)))
        for top, bottom in rows:
            for label, _, script in loads:
                if script and (top in no_pipelining or bottom in no_pipelining):
                    continue
                cells = ["%8.1f" % (results[(top, label, c)][index] /
                                    results[(bottom, label, c)][index]) for c in connections]
                print("%-46s %-9s %s" % ("%s / %s" % (top, bottom), label, " ".join(cells)))
    shutil.rmtree(scripts_dir, ignore_errors=True)

    if args.hold > 0:
        port = free_port()
        # /slow takes 2-4 s at scale 1: every connection is held at once for at least 2 s.
        server = Server("hold", [async_server, "--port", str(port), "--threads", "1",
                                 "--scale", "1", "--quiet"], port)
        try:
            answered, idle, peak, seconds = hold(server, args.hold, timeout=120)
        finally:
            server.stop()
        print("\nhold: %d concurrent /slow (2-4 s each) on one thread: %d answered 200 in %.1f s" %
              (args.hold, answered, seconds))
        print("      server RSS %.1f MiB idle, %.1f MiB peak: %.1f KiB per connection" %
              (idle / 1024, peak / 1024, (peak - idle) / max(1, args.hold)))


if __name__ == "__main__":
    main()
