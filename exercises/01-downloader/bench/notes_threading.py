"""The notes' threading downloader, for the benchmark's comparison.

Each URL is fetched with requests.get on one of --jobs worker threads (a ThreadPoolExecutor) and
saved under the notes' name rule, url.split("/")[-1]. Prints "elapsed=<seconds>" for the
downloads alone, without the interpreter's start-up.

    python3 notes_threading.py --jobs 8 --out DIR urls.txt
"""
import argparse
import concurrent.futures
import os
import time

import requests


def download(url, out):
    name = url.split("/")[-1]
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    with open(os.path.join(out, name), "wb") as file:
        file.write(response.content)
    return len(response.content)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--out", default="downloads")
    parser.add_argument("url_file")
    args = parser.parse_args()
    with open(args.url_file) as file:
        urls = [line.strip() for line in file if line.strip()]
    os.makedirs(args.out, exist_ok=True)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as executor:
        sizes = list(executor.map(lambda url: download(url, args.out), urls))
    elapsed = time.perf_counter() - start
    print(f"files={len(sizes)} bytes={sum(sizes)}")
    print(f"elapsed={elapsed:.6f}")


if __name__ == "__main__":
    main()
