"""The notes' asyncio downloader, for the benchmark's comparison.

One event loop fetches every URL with aiohttp; an asyncio.Semaphore keeps at most --jobs requests
in flight, and asyncio.gather waits for all of them. Files are saved under the notes' name rule,
url.split("/")[-1]. Prints "elapsed=<seconds>" for the downloads alone, without the
interpreter's start-up.

    python3 notes_asyncio.py --jobs 8 --out DIR urls.txt
"""
import argparse
import asyncio
import os
import time

import aiohttp


async def download(session, semaphore, url, out):
    name = url.split("/")[-1]
    async with semaphore:
        async with session.get(url) as response:
            response.raise_for_status()
            data = await response.read()
    with open(os.path.join(out, name), "wb") as file:
        file.write(data)
    return len(data)


async def download_all(urls, jobs, out):
    semaphore = asyncio.Semaphore(jobs)
    # limit=0: the semaphore, not the connector's default pool of 100, sets the concurrency.
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        return await asyncio.gather(*(download(session, semaphore, url, out) for url in urls))


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
    sizes = asyncio.run(download_all(urls, args.jobs, args.out))
    elapsed = time.perf_counter() - start
    print(f"files={len(sizes)} bytes={sum(sizes)}")
    print(f"elapsed={elapsed:.6f}")


if __name__ == "__main__":
    main()
