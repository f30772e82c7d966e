#!/usr/bin/env python3
"""The notes' concurrent crawler: asyncio + aiohttp, with an asyncio.Semaphore bounding the
fetches in flight, a set of seen URLs, and a queue of pages to visit. The benchmark's Python
peer (run by run_bench.py with Debian's python3-aiohttp).

    python3 notes_asyncio_crawler.py --limit 32 --depth 50 SEED...

Prints one JSON line: {"pages": N, "errors": E}.
"""
import argparse
import asyncio
import json
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import aiohttp


class LinkParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            for name, value in attrs:
                if name == "href" and value:
                    self.hrefs.append(value)


def links_of(html, base):
    parser = LinkParser()
    parser.feed(html)
    for href in parser.hrefs:
        url, _ = urldefrag(urljoin(base, href.strip()))
        if urlsplit(url).scheme in ("http", "https"):
            yield url


async def crawl(seeds, limit, max_depth, scope):
    seen = set(seeds)
    queue = asyncio.Queue()
    for seed in seeds:
        queue.put_nowait((seed, 0))
    semaphore = asyncio.Semaphore(limit)
    counts = {"pages": 0, "errors": 0}
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def visit(url, depth):
            async with semaphore:
                try:
                    async with session.get(url) as response:
                        body = await response.text()
                        counts["pages"] += 1
                        if depth < max_depth and "html" in response.headers.get("Content-Type", ""):
                            for link in links_of(body, url):
                                if urlsplit(link).netloc in scope and link not in seen:
                                    seen.add(link)
                                    queue.put_nowait((link, depth + 1))
                except aiohttp.ClientError:
                    counts["errors"] += 1

        async def worker():
            while True:
                url, depth = await queue.get()
                try:
                    await visit(url, depth)
                finally:
                    queue.task_done()

        workers = [asyncio.create_task(worker()) for _ in range(limit)]
        await queue.join()  # every queued page visited, none in flight
        for task in workers:
            task.cancel()
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("seeds", nargs="+")
    args = parser.parse_args()
    scope = {urlsplit(seed).netloc for seed in args.seeds}
    print(json.dumps(asyncio.run(crawl(args.seeds, args.limit, args.depth, scope))))


if __name__ == "__main__":
    main()
