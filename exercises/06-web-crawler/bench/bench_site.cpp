// `bench_site`: the benchmark's synthetic web. It serves --pages HTML pages spread over --hosts
// test servers on 127.0.0.1 (one port per host), each answering after --latency ms, prints one
// JSON line with the seeds, and serves until its standard input closes. run_bench.py starts it
// once and runs every crawler (the course's strategies, the notes' asyncio script, Scrapy, wget2)
// against the same site.
//
// The site is a tree with --fanout children per page, so that the frontier grows quickly: page i
// links to pages fanout*i+1 ... fanout*i+fanout, to its parent and to the root, and lives on host
// i % hosts at /p/i.html. Every page is reachable from the root, each by one shortest path.
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "course/http_test_server.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bench_site: the synthetic web of exercise 06's benchmark"};
  std::size_t pages = 2000;
  std::size_t hosts = 4;
  long long latency_ms = 20;
  std::size_t fanout = 5;
  app.add_option("--pages", pages, "how many pages")->check(CLI::PositiveNumber);
  app.add_option("--hosts", hosts, "how many hosts (servers)")->check(CLI::PositiveNumber);
  app.add_option("--latency", latency_ms, "milliseconds before each answer")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--fanout", fanout, "children per page")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  std::vector<std::unique_ptr<course::HttpTestServer>> servers;
  for (std::size_t h = 0; h < hosts; ++h) {
    servers.push_back(std::make_unique<course::HttpTestServer>());
    servers.back()->start();
  }
  const auto url = [&](std::size_t page) {
    return servers[page % hosts]->url("/p/" + std::to_string(page) + ".html");
  };
  for (std::size_t page = 0; page < pages; ++page) {
    std::vector<std::string> links;
    for (std::size_t child = fanout * page + 1; child <= fanout * page + fanout && child < pages;
         ++child) {
      links.push_back(url(child));
    }
    if (page > 0) {
      links.push_back(url((page - 1) / fanout));
      links.push_back(url(0));
    }
    if (links.empty()) links.push_back(url(0));
    servers[page % hosts]->add({.path = "/p/" + std::to_string(page) + ".html",
                                .latency = std::chrono::milliseconds(latency_ms),
                                .links = links});
  }
  // One seed per host (pages 0 .. hosts-1 live on hosts 0 .. hosts-1), so that a crawler whose
  // scope is its seeds' hosts crawls all of them.
  std::cout << "{\"seeds\": [";
  for (std::size_t h = 0; h < hosts && h < pages; ++h)
    std::cout << (h ? ", " : "") << '"' << url(h) << '"';
  std::cout << "], \"pages\": " << pages << ", \"hosts\": [";
  for (std::size_t h = 0; h < hosts; ++h) {
    std::cout << (h ? ", " : "") << "\"127.0.0.1:" << servers[h]->port() << "\"";
  }
  std::cout << "]}" << std::endl;
  std::string ignored;
  while (std::getline(std::cin, ignored)) {
  }
  return 0;
}
