"""The notes' approach to a concurrent cache, for the C++ benchmark to compare against.

A dict guarded by one threading.Lock, with hit and miss counters, driven by the same workload as
bench/cache_bench.cpp: keys "user:<id>" drawn from a Zipf distribution (exponent 0.99 over 100 000
keys), a given percentage of reads and the rest puts, on 1 or more threads. Prints one line,
"ops_per_second=<float>", which the C++ benchmark reads.

    python3 notes_cache.py --threads 2 --reads 95 --ops 200000
"""

import argparse
import bisect
import itertools
import random
import threading
import time

KEYS = 100_000
EXPONENT = 0.99


class Cache:
    def __init__(self):
        self.data = {}
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key):
        with self.lock:
            value = self.data.get(key)
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    def put(self, key, value):
        with self.lock:
            self.data[key] = value


def workload(n, reads, seed):
    weights = [1.0 / (k + 1) ** EXPONENT for k in range(KEYS)]
    cumulative = list(itertools.accumulate(weights))
    rng = random.Random(seed)
    total = cumulative[-1]
    calls = []
    for _ in range(n):
        rank = bisect.bisect_left(cumulative, rng.random() * total)
        calls.append(("user:%d" % rank, rng.randrange(100) < reads))
    return calls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reads", type=int, default=95)
    parser.add_argument("--ops", type=int, default=200_000, help="calls per thread")
    args = parser.parse_args()

    cache = Cache()
    for rank in range(KEYS):
        cache.put("user:%d" % rank, rank)
    plans = [workload(args.ops, args.reads, seed) for seed in range(args.threads)]

    def run(calls):
        for key, is_read in calls:
            if is_read:
                cache.get(key)
            else:
                cache.put(key, 1)

    threads = [threading.Thread(target=run, args=(plan,)) for plan in plans]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    print("ops_per_second=%.1f" % (args.ops * args.threads / elapsed))


if __name__ == "__main__":
    main()
