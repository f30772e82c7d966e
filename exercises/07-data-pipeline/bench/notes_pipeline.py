#!/usr/bin/env python3
"""The notes' pipeline in Python, as exercise 07's benchmark peers.

  notes_pipeline.py asyncio LOG...          read -> parse (N tasks) -> aggregate over asyncio.Queue
                                            with None sentinels, as the notes write it
  notes_pipeline.py multiprocessing LOG...  multiprocessing.Pool over chunks of lines, partial
                                            reports merged at the end (the notes' fan-out/fan-in)

Both count what the C++ version counts (lines, malformed, records, bytes, requests per path) and
print one JSON line with the time taken.
"""
import argparse
import asyncio
import calendar
import collections
import json
import multiprocessing
import re
import sys
import time

LINE = re.compile(
    r'^(\S+) (\S+) (\S+) \[(\d\d)/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/(\d{4}):'
    r'(\d\d):(\d\d):(\d\d) ([-+])(\d\d)(\d\d)\] "(\S+) (\S+) (\S+)" ([1-5]\d\d) (\d+|-) '
    r'"([^"]*)" "([^"]*)"$')
MONTHS = {m: i + 1 for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])}


def parse_line(text):
    """A dict for a well-formed line, None for a malformed one."""
    m = LINE.match(text)
    if m is None:
        return None
    (_host, _ident, _user, day, month, year, hh, mm, ss, sign, oh, om, _method, path, _proto,
     status, size, _referer, _agent) = m.groups()
    offset = (int(oh) * 3600 + int(om) * 60) * (-1 if sign == "-" else 1)
    t = calendar.timegm((int(year), MONTHS[month], int(day), int(hh), int(mm), int(ss))) - offset
    return {"path": path, "status": int(status), "bytes": 0 if size == "-" else int(size),
            "time": t}


class Report:
    def __init__(self):
        self.lines = self.malformed = self.records = self.bytes = 0
        self.paths = collections.Counter()
        self.per_minute = collections.Counter()

    def add(self, record):
        self.records += 1
        self.bytes += record["bytes"]
        self.paths[record["path"]] += 1
        self.per_minute[record["time"] - record["time"] % 60] += 1

    def merge(self, other):
        self.lines += other.lines
        self.malformed += other.malformed
        self.records += other.records
        self.bytes += other.bytes
        self.paths.update(other.paths)
        self.per_minute.update(other.per_minute)


# ---- asyncio: the notes' version ----

async def read(paths, lines, parsers):
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for text in f:
                await lines.put(text.rstrip("\n"))
    for _ in range(parsers):
        await lines.put(None)          # one sentinel per parser


async def parse(lines, records):
    while (text := await lines.get()) is not None:
        await records.put((text, parse_line(text)))
    await records.put(None)


async def aggregate(records, parsers, report):
    ended = 0
    while ended < parsers:
        item = await records.get()
        if item is None:
            ended += 1
            continue
        report.lines += 1
        if item[1] is None:
            report.malformed += 1
        else:
            report.add(item[1])


async def run_asyncio(paths, parsers, capacity):
    report = Report()
    lines = asyncio.Queue(maxsize=capacity)
    records = asyncio.Queue(maxsize=capacity)
    await asyncio.gather(read(paths, lines, parsers),
                         *(parse(lines, records) for _ in range(parsers)),
                         aggregate(records, parsers, report))
    return report


# ---- multiprocessing: chunks on a pool ----

def analyse_chunk(chunk):
    report = Report()
    for text in chunk:
        report.lines += 1
        record = parse_line(text)
        if record is None:
            report.malformed += 1
        else:
            report.add(record)
    return report


def chunks(paths, size):
    chunk = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for text in f:
                chunk.append(text.rstrip("\n"))
                if len(chunk) == size:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


def run_multiprocessing(paths, workers, chunk_size):
    report = Report()
    with multiprocessing.Pool(workers) as pool:
        for part in pool.imap_unordered(analyse_chunk, chunks(paths, chunk_size)):
            report.merge(part)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["asyncio", "multiprocessing"])
    parser.add_argument("logs", nargs="+")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--capacity", type=int, default=256)
    parser.add_argument("--chunk", type=int, default=10000)
    args = parser.parse_args()
    start = time.perf_counter()
    if args.mode == "asyncio":
        report = asyncio.run(run_asyncio(args.logs, args.workers, args.capacity))
    else:
        report = run_multiprocessing(args.logs, args.workers, args.chunk)
    seconds = time.perf_counter() - start
    print(json.dumps({"lines": report.lines, "malformed": report.malformed,
                      "records": report.records, "bytes": report.bytes,
                      "paths": len(report.paths), "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
