#!/usr/bin/env python3
"""Scrapy on the benchmark's site, with its concurrency settings set to the course's limits:
CONCURRENT_REQUESTS = L and CONCURRENT_REQUESTS_PER_DOMAIN = L (every host of the site is
127.0.0.1, one Scrapy slot), no download delay, robots.txt not fetched (the course's crawler
runs with --no-robots too). Run by run_bench.py with Debian's python3-scrapy.

    python3 scrapy_crawler.py --limit 32 SEED...

Prints one JSON line: {"pages": N, "errors": E}.
"""
import argparse
import json
import logging

import scrapy
from scrapy.crawler import CrawlerProcess


class SiteSpider(scrapy.Spider):
    name = "site"
    counts = {"pages": 0, "errors": 0}

    def start_requests(self):
        for seed in self.seeds:
            yield scrapy.Request(seed, callback=self.parse, errback=self.failed)

    def parse(self, response):
        SiteSpider.counts["pages"] += 1
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, callback=self.parse, errback=self.failed)

    def failed(self, failure):
        SiteSpider.counts["errors"] += 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("seeds", nargs="+")
    args = parser.parse_args()
    logging.getLogger("scrapy").setLevel(logging.ERROR)
    process = CrawlerProcess(settings={
        "CONCURRENT_REQUESTS": args.limit,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.limit,
        "CONCURRENT_REQUESTS_PER_IP": 0,
        "DOWNLOAD_DELAY": 0,
        "DEPTH_LIMIT": args.depth,
        "ROBOTSTXT_OBEY": False,
        "LOG_LEVEL": "ERROR",
        "TELNETCONSOLE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "RETRY_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    })
    process.crawl(SiteSpider, seeds=args.seeds)
    process.start()
    print(json.dumps(SiteSpider.counts))


if __name__ == "__main__":
    main()
