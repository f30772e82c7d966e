#!/usr/bin/env python3
"""Benchmark of exercise 02, side by side in one run: the reference, its going-further variant
(solutions/02-image-filter/going-further/vector-versions: each hot loop compiled for three
processors), your implementation when it is built, and Pillow.

Each implementation's `bench` program filters the same 4096 x 4096 RGB image with every filter at
1 and 2 threads (tiles mode) and prints medians; this script runs them one after the other, with
Pillow measured once, and prints per filter the median milliseconds of each at 1 and 2 threads,
the variant's speed relative to the reference, and each one's ratio to Pillow on 1 thread.

    cmake --preset release && cmake --build build/release --target \\
        02-image-filter_bench_solutions 02-image-filter_bench_going-further-vector-versions
    python3 exercises/02-image-filter/bench/run_bench.py [--runs 5] [--size 4096]

An implementation that is not built is skipped with a note. No timing thresholds: read the
ratios, on a quiet machine.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TOOLS = os.path.join(ROOT, "build", "release", "tools", "02-image-filter")

PEERS = [
    ("reference", "solutions"),
    ("vector versions", "going-further-vector-versions"),
    ("yours", "exercises"),
]

ROW = re.compile(r"^(\w+)\s+([0-9.]+)\s+[0-9.]+\s+([0-9.]+)\s+[0-9.]+\s+[0-9.]+x\s+(\S+)")


def measure(binary, runs, size, pillow):
    """Runs one bench program; returns {filter: (ms at 1 thread, ms at 2, Pillow ms or None)}."""
    command = [binary, "--runs", str(runs), "--size", str(size), "--threads", "1,2"]
    if not pillow:
        command.append("--no-pillow")
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{binary} failed:\n{done.stderr}")
    rows = {}
    for line in done.stdout.splitlines():
        match = ROW.match(line)
        if match:
            pillow_ms = None if match.group(4) == "-" else float(match.group(4))
            rows[match.group(1)] = (float(match.group(2)), float(match.group(3)), pillow_ms)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (medians)")
    parser.add_argument("--size", type=int, default=4096, help="the image is size x size RGB")
    args = parser.parse_args()

    results = {}
    pillow = {}
    for label, impl in PEERS:
        binary = os.path.join(TOOLS, impl, "bench")
        if not os.access(binary, os.X_OK):
            print(f"({label}: {os.path.relpath(binary, ROOT)} is not built, skipped)")
            continue
        rows = measure(binary, args.runs, args.size, pillow=not pillow)
        results[label] = rows
        if not pillow:
            pillow = {name: row[2] for name, row in rows.items() if row[2] is not None}
    if "reference" not in results:
        print("the reference's bench is not built: see the command in this script's help")
        return 2

    labels = list(results)
    print(f"\n{args.size}x{args.size} RGB, {args.runs} runs per figure, medians in ms "
          f"(1T, 2T: threads)")
    header = f"{'filter':<14}"
    for label in labels:
        header += f" {label + ' 1T':>18} {'2T':>8}"
    header += f" {'variant/ref':>12} {'Pillow 1T':>10}"
    for label in labels:
        header += f" {'xPillow ' + label:>18}"
    print(header)
    for name, ref in results["reference"].items():
        line = f"{name:<14}"
        for label in labels:
            row = results[label].get(name)
            line += f" {row[0]:>18.2f} {row[1]:>8.2f}" if row else f" {'-':>18} {'-':>8}"
        variant = results.get("vector versions", {}).get(name)
        line += f" {ref[0] / variant[0]:>11.2f}x" if variant else f" {'-':>12}"
        pillow_ms = pillow.get(name)
        line += f" {pillow_ms:>10.2f}" if pillow_ms else f" {'-':>10}"
        for label in labels:
            row = results[label].get(name)
            line += (f" {pillow_ms / row[0]:>17.2f}x" if row and pillow_ms else f" {'-':>18}")
        print(line)
    print("\nvariant/ref: the reference's 1-thread time / the variant's (above 1: the variant is "
          "faster); xPillow: Pillow's time / the implementation's, both on 1 thread.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
