#!/usr/bin/env python3
"""Benchmark of exercise 06: the crawler's strategies against the notes' asyncio crawler, Scrapy
and wget2, on one synthetic web.

bench_site serves --pages HTML pages over --hosts servers on 127.0.0.1, each answering after
--latency ms. For each L in --limits, every crawler crawls the whole site from the same seeds,
with L fetches at most in flight (and L per host), --runs times; printed per crawler and L: the
median wall time, pages per second, the ratio of the median to the ideal bound ceil(N/L) x
latency, the CPU time per page (user + system of the crawler's process), and the ratio of its
rate to the course's best strategy. robots.txt is not fetched by anyone. Then each crawler
crawls four hostile pages (100 000 nested elements, unclosed and misnested formatting tags, one
seed each): the wall time and the crawler's peak resident memory.

Crawlers: the exercise's `crawler` command with --strategy threads, async and fair; the notes'
asyncio + aiohttp crawler with an asyncio.Semaphore (notes_asyncio_crawler.py); Scrapy with
CONCURRENT_REQUESTS = CONCURRENT_REQUESTS_PER_DOMAIN = L (scrapy_crawler.py); wget2 --recursive
--max-threads=L (saving the pages in a temporary folder). The Python peers run with /usr/bin/python3 (Debian's python3-aiohttp
and python3-scrapy); a peer that is not installed is skipped with a note.

    cmake --preset release && cmake --build build/release --target \\
        06-web-crawler_crawler_solutions 06-web-crawler_bench_site_solutions
    python3 exercises/06-web-crawler/bench/run_bench.py [--impl exercises|solutions]

Everything runs on the same machine: on 2 cores the site's server threads share the CPUs with
the crawler. No timing thresholds: read the ratios.
"""
import argparse
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXERCISE = os.path.dirname(HERE)
ROOT = os.path.abspath(os.path.join(EXERCISE, "..", ".."))
PYTHON = "/usr/bin/python3"


def has_module(module):
    if not os.path.exists(PYTHON):
        return False
    return subprocess.run([PYTHON, "-c", "import " + module], capture_output=True).returncode == 0


def timed(command, timeout):
    """Runs a command; returns (wall seconds, CPU seconds of the child, stdout, stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 8):  # wget2 exits with 8 when a server answered an error
        raise RuntimeError("%s exited with %d: %s" % (command[0], done.returncode, done.stderr[-500:]))
    return wall, cpu, done.stdout, done.stderr


def course_crawler(binary, strategy):
    def command(seeds, limit, depth):
        return [binary, *seeds, "--strategy", strategy, "-j", str(limit), "--per-host",
                str(limit), "--depth", str(depth), "--no-robots", "--quiet", "--max-pages",
                "1000000"]

    def pages(stdout, stderr):
        match = re.search(r"crawled (\d+) pages: (\d+) fetched", stdout)
        return int(match.group(2)) if match else 0
    return command, pages


def python_peer(script):
    def command(seeds, limit, depth):
        return [PYTHON, os.path.join(HERE, script), "--limit", str(limit), "--depth", str(depth),
                *seeds]

    def pages(stdout, stderr):
        return json.loads(stdout.strip().splitlines()[-1])["pages"]
    return command, pages


def wget2_peer(binary, workdir):
    # Not --spider: wget2's spider sends a HEAD, then a GET, for every HTML page. It saves the
    # pages under a temporary folder instead, emptied before each run.
    def command(seeds, limit, depth):
        shutil.rmtree(workdir, ignore_errors=True)
        return [binary, "--recursive", "--level", str(depth), "--max-threads", str(limit),
                "--robots=off", "--span-hosts", "--domains=127.0.0.1", "--tries=1", "--no-proxy",
                "--directory-prefix", workdir, *seeds]

    def pages(stdout, stderr):
        return len(set(re.findall(r"HTTP response 200 OK \[(\S+)\]", stdout + stderr)))
    return command, pages


def hostile_pages():
    """The pages a hostile site serves: path -> HTML."""
    nested = "<div>" * 100000 + "<a href=/after>after</a>"
    formatting = "".join("<div><b id=%d></div>" % i for i in range(20000)) + "<a href=/after>a</a>"
    unclosed = "<b>" * 100000 + "<a href=/after>after</a>"
    tables = "".join("<table><i id=%d>" % i for i in range(20000)) + "<a href=/after>after</a>"
    return {"/nested": nested, "/formatting": formatting, "/unclosed": unclosed,
            "/tables": tables, "/after": "<p>the page after</p>"}


def serve_hostile_site():
    """Serves hostile_pages() on 127.0.0.1 from a thread; returns (server, base URL)."""
    import http.server
    import threading
    pages = {path: html.encode() for path, html in hostile_pages().items()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d" % server.server_address[1]


def peak_resident_mb(pid):
    """The process's peak resident memory so far (VmHWM), in MB; 0 when it cannot be read. Read
    from /proc rather than from wait4's ru_maxrss, which also counts the Python process the child
    was forked from (its memory before exec)."""
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


GNU_TIME = "/usr/bin/time"


def measured(command, timeout):
    """Runs a command; returns (wall seconds, peak resident MB of that process), or None at the
    timeout (the process is killed). The peak comes from GNU time (%M: the child's ru_maxrss; time
    itself is a small C program, so its memory before exec does not count) when it is installed
    (`install-deps --extras`), else from /proc every 5 ms, which misses a process that ends
    sooner."""
    with tempfile.NamedTemporaryFile(mode="r", suffix=".maxrss") as maxrss:
        timed = os.access(GNU_TIME, os.X_OK)
        if timed:
            command = [GNU_TIME, "-f", "%M", "-o", maxrss.name] + list(command)
        start = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = 0.0
        while True:
            if not timed:
                peak = max(peak, peak_resident_mb(process.pid))  # before wait4 reaps it
            pid, _, _ = os.wait4(process.pid, os.WNOHANG)
            if pid:
                wall = time.monotonic() - start
                if timed:
                    lines = maxrss.read().split()
                    peak = int(lines[-1]) / 1024.0 if lines and lines[-1].isdigit() else 0.0
                return wall, peak
            if time.monotonic() - start > timeout:
                process.kill()
                os.wait4(process.pid, 0)
                return None
            time.sleep(0.005)


def bench_hostile(crawlers, timeout):
    server, base = serve_hostile_site()
    sizes = {path: len(html) // 1024 for path, html in hostile_pages().items()}
    print()
    print("hostile pages (one seed each, depth 1, L = 4): wall s / peak RSS MB of the crawler")
    paths = [path for path in hostile_pages() if path != "/after"]
    print("%-15s" % "crawler" + "".join("%22s" % ("%s (%d KB)" % (p, sizes[p])) for p in paths))
    try:
        for name, (command, _) in crawlers:
            cells = []
            for path in paths:
                result = measured(command([base + path], 4, 1), timeout)
                if result is None:
                    cells.append("killed after %d s" % timeout)
                elif result[1] > 0:
                    cells.append("%.2f s / %.0f MB" % result)
                else:  # ended before its memory could be read
                    cells.append("%.2f s / - MB" % result[0])
            print("%-15s" % name + "".join("%22s" % cell for cell in cells))
    finally:
        server.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="solutions", help="exercises or solutions")
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--latency", type=int, default=20, help="milliseconds per answer")
    parser.add_argument("--limits", default="8,32,128")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--only", default="", help="comma-separated crawler names to run")
    parser.add_argument("--hostile-timeout", type=int, default=60,
                        help="seconds a crawler may take on one hostile page (0: skip them)")
    args = parser.parse_args()

    tools = os.path.join(args.build, "tools", "06-web-crawler", args.impl)
    crawler, site_binary = os.path.join(tools, "crawler"), os.path.join(tools, "bench_site")
    for binary in (crawler, site_binary):
        if not os.path.exists(binary):
            sys.exit("run_bench.py: %s is missing; build it first (see --help)" % binary)

    site = subprocess.Popen([site_binary, "--pages", str(args.pages), "--hosts", str(args.hosts),
                             "--latency", str(args.latency)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    described = json.loads(site.stdout.readline())
    seeds = described["seeds"]
    workdir = tempfile.mkdtemp(prefix="crawl-bench-")

    crawlers = [("course threads", course_crawler(crawler, "threads")),
                ("course async", course_crawler(crawler, "async")),
                ("course fair", course_crawler(crawler, "fair"))]
    notes = []
    if has_module("aiohttp"):
        crawlers.append(("notes asyncio", python_peer("notes_asyncio_crawler.py")))
    else:
        notes.append("the notes' asyncio crawler skipped: /usr/bin/python3 has no aiohttp")
    if has_module("scrapy"):
        crawlers.append(("Scrapy", python_peer("scrapy_crawler.py")))
    else:
        notes.append("Scrapy skipped: /usr/bin/python3 has no scrapy (apt-get install python3-scrapy)")
    wget2 = shutil.which("wget2")
    if wget2:
        crawlers.append(("wget2", wget2_peer(wget2, workdir)))
    else:
        notes.append("wget2 skipped: not installed (apt-get install wget2)")
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        crawlers = [entry for entry in crawlers if entry[0] in wanted]

    print("site: %d pages on %d hosts, %d ms per answer; %d runs per cell, medians"
          % (args.pages, args.hosts, args.latency, args.runs))
    print("%-15s %5s %9s %10s %9s %12s %9s" % ("crawler", "L", "wall s", "pages/s", "x ideal",
                                                "CPU ms/page", "vs best"))
    try:
        for limit in [int(x) for x in args.limits.split(",")]:
            ideal = math.ceil(args.pages / limit) * args.latency / 1000.0
            rows = []
            for name, (command, count) in crawlers:
                walls, cpus, found = [], [], 0
                for _ in range(args.runs):
                    wall, cpu, out, err = timed(command(seeds, limit, args.depth), timeout=600)
                    walls.append(wall)
                    cpus.append(cpu)
                    found = count(out, err)
                wall = statistics.median(walls)
                rows.append((name, wall, found, statistics.median(cpus)))
            best = max(found / wall for name, wall, found, _ in rows if name.startswith("course"))
            for name, wall, found, cpu in rows:
                rate = found / wall if wall > 0 else 0.0
                note = "" if found == args.pages else "  (%d of %d pages)" % (found, args.pages)
                print("%-15s %5d %9.3f %10.0f %9.2f %12.3f %9.2f%s"
                      % (name, limit, wall, rate, wall / ideal if ideal > 0 else float("nan"),
                         1000.0 * cpu / max(found, 1),
                         rate / best, note))
            print("%-15s %5d %9.3f   (ceil(N/L) x latency)" % ("ideal", limit, ideal))
        if args.hostile_timeout > 0:
            bench_hostile(crawlers, args.hostile_timeout)
    finally:
        site.stdin.close()
        site.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    for note in notes:
        print("note:", note)


if __name__ == "__main__":
    main()
