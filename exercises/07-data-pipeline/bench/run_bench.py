#!/usr/bin/env python3
"""Benchmark of exercise 07: the log analysis through the pipeline against oneTBB's
parallel_pipeline (the same stage functions), a shell pipeline, and the notes' Python versions.

loggen writes one deterministic access log of --lines lines. Every peer analyses the same file,
--runs times; printed per peer: the median wall time, MB/s and lines/s end to end, peak RSS, and
the ratio of its rate to the reference's 2-worker rate. Then the reference's per-stage busy share
(from logpipe's statistics table), what two cores can give at most (two single-threaded runs at
once), and its peak RSS on a log four times as large, to show that memory does not grow with the
input.

Peers:
  logpipe --workers 1, --workers 2      the exercise's command (analyse(), threads), batches of
                                        1024 lines (level 4b, the default)
  logpipe --workers 2 --batch 1         one line per item (levels 2 to 4), to show what batches buy
  logpipe --async                       level 6, one thread
  logpipe_chunked --workers 1, 2        tuned beyond the statement: the same pipeline (built
                                        against the same implementation) with chunks of about
                                        256 KiB as items, split by the parse workers into partial
                                        reports (bench/logpipe_chunked.cpp, which says why)
  tbb_pipeline --threads 1, 2           oneTBB parallel_pipeline, serial read, parallel parse,
                                        serial aggregate, the same parse_line and Report::add on
                                        the same items (batches of 1024 lines), and with one line
                                        per item (--batch 1)
  awk | sort | uniq -c                  the oracle's shell pipeline (requests per path)
  notes asyncio, notes multiprocessing  bench/notes_pipeline.py with /usr/bin/python3
A peer that is not built or installed is skipped with a note.

    cmake --preset release && cmake --build build/release --target \\
        07-data-pipeline_logpipe_solutions 07-data-pipeline_loggen_solutions \\
        07-data-pipeline_logpipe_chunked_solutions 07-data-pipeline_tbb_pipeline
    python3 exercises/07-data-pipeline/bench/run_bench.py [--impl exercises|solutions]

No timing thresholds: read the ratios. On 2 cores, run it on a quiet machine.
"""
import argparse
import os
import re
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

VALID = (r'/^[^ ]+ [^ ]+ [^ ]+ \[[0-9][0-9]\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
         r'\/[0-9][0-9][0-9][0-9]:[0-9][0-9]:[0-9][0-9]:[0-9][0-9] [-+][0-9][0-9][0-9][0-9]\] '
         r'"[^ "]+ [^ "]+ [^ "]+" [1-5][0-9][0-9] ([0-9]+|-) "[^"]*" "[^"]*"$/')


def run(command, shell=False, timeout=1800):
    """Runs a command; returns (wall seconds, stdout, stderr)."""
    start = time.monotonic()
    process = subprocess.Popen(command, shell=shell, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=timeout)
    wall = time.monotonic() - start
    if process.returncode != 0:
        raise RuntimeError("%s exited with %d: %s" % (command if shell else command[0],
                                                      process.returncode, err[-500:]))
    return wall, out, err


def peak_rss_mib(command):
    """Peak RSS of one command, from GNU time (`time`, which `install-deps --extras` installs).

    wait4()'s ru_maxrss would be floored at this script's own size: Linux keeps the peak of the
    forked Python process across the exec. Without GNU time, prints nan."""
    if not os.path.exists("/usr/bin/time"):
        return float("nan")
    process = subprocess.run(["/usr/bin/time", "-f", "%M"] + command, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    if process.returncode != 0:
        raise RuntimeError("%s exited with %d" % (command[0], process.returncode))
    return int(process.stderr.strip().splitlines()[-1]) / 1024  # KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    parser.add_argument("--impl", default="solutions", choices=["solutions", "exercises"])
    parser.add_argument("--lines", type=int, default=2_000_000,
                        help="lines in the log (about 190 bytes each)")
    parser.add_argument("--python-lines", type=int, default=500_000,
                        help="the Python peers read only this many lines of it (they are slow)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    tools = os.path.join(args.build, "tools", "07-data-pipeline", args.impl)
    logpipe = os.path.join(tools, "logpipe")
    loggen = os.path.join(tools, "loggen")
    tbb = os.path.join(args.build, "tools", "07-data-pipeline", "tbb_pipeline")
    chunked = os.path.join(tools, "logpipe_chunked")
    for binary in (logpipe, loggen):
        if not os.path.exists(binary):
            sys.exit("missing %s: build it in the release preset (see --help)" % binary)

    workdir = tempfile.mkdtemp(prefix="logpipe-bench-")
    try:
        log = os.path.join(workdir, "access.log")
        subprocess.run([loggen, log, "--lines", str(args.lines), "--seed", "7"], check=True,
                       capture_output=True)
        small = os.path.join(workdir, "small.log")
        with open(log, "rb") as src, open(small, "wb") as dst:
            for i, line in enumerate(src):
                if i == args.python_lines:
                    break
                dst.write(line)
        size_mb = os.path.getsize(log) / 1e6
        small_mb = os.path.getsize(small) / 1e6
        print("log: %d lines, %.0f MB (Python peers: the first %d lines, %.0f MB); %d runs each"
              % (args.lines, size_mb, args.python_lines, small_mb, args.runs))

        peers = [
            ("logpipe --workers 1", [logpipe, log, "--workers", "1", "--quiet", "--out",
                                     os.path.join(workdir, "r1.json")], log),
            ("logpipe --workers 2", [logpipe, log, "--workers", "2", "--quiet", "--out",
                                     os.path.join(workdir, "r2.json")], log),
            ("logpipe --workers 2 --batch 1", [logpipe, log, "--workers", "2", "--batch", "1",
                                               "--quiet", "--out",
                                               os.path.join(workdir, "rb.json")], log),
            ("logpipe --async", [logpipe, log, "--async", "--workers", "2", "--quiet", "--out",
                                 os.path.join(workdir, "ra.json")], log),
        ]
        if os.path.exists(chunked):
            peers += [("tuned: chunks of 256 KiB, 1 worker", [chunked, log, "--workers", "1"], log),
                      ("tuned: chunks of 256 KiB, 2 workers", [chunked, log, "--workers", "2"], log)]
        else:
            print("note: %s is not built: the tuned peer is skipped" % chunked)
        if os.path.exists(tbb):
            peers += [("oneTBB parallel_pipeline, 1 thread", [tbb, log, "--threads", "1"], log),
                      ("oneTBB parallel_pipeline, 2 threads", [tbb, log, "--threads", "2"], log),
                      ("oneTBB, --batch 1, 2 threads",
                       [tbb, log, "--threads", "2", "--batch", "1", "--tokens", "256"], log)]
        else:
            print("note: %s is not built (libtbb-dev missing?): oneTBB skipped" % tbb)
        peers.append(("awk | sort | uniq -c",
                      "awk '%s { print $7 }' '%s' | sort | uniq -c > /dev/null" % (VALID, log), log))
        if os.path.exists(PYTHON):
            script = os.path.join(HERE, "notes_pipeline.py")
            peers += [("notes asyncio (2 parse tasks)", [PYTHON, script, "asyncio", small], small),
                      ("notes multiprocessing (2 processes)",
                       [PYTHON, script, "multiprocessing", "--workers", "2", small], small)]
        else:
            print("note: %s is missing: the notes' Python versions are skipped" % PYTHON)

        results = []
        for name, command, path in peers:
            shell = isinstance(command, str)
            walls = [run(command, shell=shell)[0] for _ in range(args.runs)]
            median = statistics.median(walls)
            lines = args.lines if path == log else args.python_lines
            mb = size_mb if path == log else small_mb
            rss = peak_rss_mib(command) if not shell else float("nan")
            results.append((name, median, mb / median, lines / median, rss))

        reference = next(r for r in results if r[0] == "logpipe --workers 2")
        print()
        print("%-38s %9s %9s %12s %9s %8s" % ("peer", "median s", "MB/s", "lines/s", "RSS MiB",
                                            "vs ref"))
        for name, median, mbs, lps, rss in results:
            print("%-38s %9.3f %9.1f %12.0f %9.1f %7.2fx" % (name, median, mbs, lps, rss,
                                                            lps / reference[3]))
        one = next(r for r in results if r[0] == "logpipe --workers 1")
        print("\nreference 2 workers / 1 worker: %.2fx" % (reference[3] / one[3]))
        tbb2 = [r for r in results if r[0] == "oneTBB parallel_pipeline, 2 threads"]
        if tbb2:
            print("reference 2 workers / oneTBB 2 threads: %.2fx" % (reference[3] / tbb2[0][3]))
        per_line = [r for r in results if r[0] == "logpipe --workers 2 --batch 1"]
        if per_line:
            print("reference 2 workers, batches of 1024 / one line per item: %.2fx"
                  % (reference[3] / per_line[0][3]))
        tuned = [r for r in results if r[0].startswith("tuned")]
        if len(tuned) == 2:
            print("tuned 2 workers / tuned 1 worker: %.2fx" % (tuned[1][3] / tuned[0][3]))
            if tbb2:
                print("tuned 2 workers / oneTBB 2 threads: %.2fx" % (tuned[1][3] / tbb2[0][3]))
        notes = [r for r in results if r[0].startswith("notes asyncio")]
        if notes:
            print("reference 2 workers / notes asyncio: %.1fx" % (reference[3] / notes[0][3]))

        # Per-stage busy share, from the statistics table logpipe prints at the end.
        _, _, err = run([logpipe, log, "--workers", "2", "--out", os.path.join(workdir, "r.json")])
        print("\nlogpipe --workers 2, its statistics table:")
        for line in err.splitlines():
            if re.match(r"^(stage|read|parse|filter|aggregate)\b", line):
                print("  " + line)

        # Peak RSS against the input's size.
        big = os.path.join(workdir, "big.log")
        with open(big, "wb") as dst:
            for _ in range(4):
                with open(log, "rb") as src:
                    shutil.copyfileobj(src, dst)
        rss_1 = peak_rss_mib([logpipe, log, "--workers", "2", "--quiet", "--out",
                              os.path.join(workdir, "x.json")])
        rss_4 = peak_rss_mib([logpipe, big, "--workers", "2", "--quiet", "--out",
                              os.path.join(workdir, "y.json")])
        # What two cores can give at most: two independent single-threaded runs at once (level 6,
        # `--async`, runs on one thread) against one alone.
        single = [logpipe, log, "--async", "--quiet", "--out", os.path.join(workdir, "s.json")]
        alone = run(single)[0]
        start = time.monotonic()
        pair = [subprocess.Popen(single[:-1] + [os.path.join(workdir, "s%d.json" % i)],
                                 stdout=subprocess.DEVNULL) for i in range(2)]
        for process in pair:
            process.wait()
        together = time.monotonic() - start
        print("\nthe machine's ceiling for 2 workers: two independent single-threaded runs "
              "(logpipe --async) at once do %.2fx the work of one (%.3f s alone, %.3f s for both)"
              % (2 * alone / together, alone, together))

        print("\npeak RSS of logpipe --workers 2: %.1f MiB on %.0f MB, %.1f MiB on %.0f MB"
              % (rss_1, size_mb, rss_4, 4 * size_mb))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
