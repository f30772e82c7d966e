// The cache's benchmark (Google Benchmark): every level and a baseline, a std::mutex around a
// plain std::unordered_map, on Zipf-distributed keys with 100, 95 and 50 % reads, on 1 thread and
// on 2 (and on every core when there are more), and the machine's own bound on scaling: a level 3
// cache per thread, nothing shared. Build it in the release preset:
//
//   cmake --preset release && cmake --build --preset release --target 04-cache_bench_solutions
//   build/release/tools/04-cache/solutions/bench [--no-python] [Google Benchmark flags]
//
// Every measurement runs once per round (--benchmark_repetitions rounds, 3 by default), each time
// in a process of its own, so that none inherits the heap another left behind and all see the
// same drift of the machine's speed; the median of the rounds counts. (A --benchmark_filter runs
// what it selects in this process instead, repeated back to back.) After Google
// Benchmark's own table it prints a summary: Mops/s per level, mix and thread count, the speedup
// from 1 thread, and the ratio to the baseline at the same thread count. Then, when
// /usr/bin/python3 is there, it runs the notes' Python version (bench/notes_cache.py: a dict and
// one threading.Lock) on the same workload and prints level 3's ratio to it.
//
// Peers: the benchmarks of the reference's going-further variants, when they are built beside
// this one (build/release/tools/04-cache/going-further-<g>/bench), measure their level 3 in the
// same rounds, as the level <g>, and the summary prints their ratio to this level 3
// (--no-peers skips them; --peer NAME=PATH adds another build of this benchmark). It checks
// nothing: it is a measurement, never a test.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cache.hpp"

namespace {

constexpr std::uint64_t kKeys = 100'000;     // distinct keys
constexpr std::size_t kCapacity = 1U << 16;  // entries the cache holds (most of the hot keys)
constexpr std::size_t kShards = 64;          // stripes of level 3
constexpr std::size_t kSequence = 1U << 20;  // precomputed calls each thread cycles through
constexpr double kZipfExponent = 0.99;       // as in the YCSB benchmark's "zipfian" keys

// Keys look like what caches hold, "user:<id>": short strings (no allocation when copied) whose
// hashing and comparison are part of every call, inside and outside the lock. Ranks are scattered
// over the ids (an odd multiplier is a bijection on 64-bit integers: no two ranks collide).
std::string key_of_rank(std::uint64_t rank) {
  return "user:" + std::to_string((rank * 0x9E3779B97F4A7C15ULL) % 10'000'000'019ULL);
}

// Key k (0-based) is drawn with probability proportional to 1 / (k+1)^s: a few keys are very
// popular, as in real caches. A sampled sequence, made once, so no thread spends its time drawing.
struct Workload {
  std::vector<std::string> keys;
  std::vector<std::uint8_t> dice;  // 0..99: a call is a read when its dice < the read percentage

  Workload() {
    std::vector<double> cumulative(kKeys);
    double sum = 0;
    for (std::uint64_t k = 0; k < kKeys; ++k) {
      sum += 1.0 / std::pow(static_cast<double>(k + 1), kZipfExponent);
      cumulative[k] = sum;
    }
    std::mt19937_64 random(42);
    std::uniform_real_distribution<double> uniform(0, sum);
    std::uniform_int_distribution<int> percent(0, 99);
    keys.reserve(kSequence);
    dice.reserve(kSequence);
    for (std::size_t i = 0; i < kSequence; ++i) {
      const auto at = std::lower_bound(cumulative.begin(), cumulative.end(), uniform(random));
      keys.push_back(key_of_rank(static_cast<std::uint64_t>(at - cumulative.begin())));
      dice.push_back(static_cast<std::uint8_t>(percent(random)));
    }
  }
};

const Workload& workload() {
  static const Workload w;
  return w;
}

// The baseline: what one writes first, and what the levels must beat.
class MutexMap {
 public:
  explicit MutexMap(const cache::Options& /*options*/) {}
  std::optional<std::uint64_t> get(const std::string& key) {
    const std::scoped_lock lock(mutex_);
    const auto found = map_.find(key);
    if (found == map_.end()) return std::nullopt;
    return found->second;
  }
  void put(const std::string& key, std::uint64_t value) {
    const std::scoped_lock lock(mutex_);
    map_[key] = value;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::uint64_t> map_;
};

using Key = std::string;
using Level1 = cache::MutexCache<Key, std::uint64_t>;
using Level2 = cache::SharedCache<Key, std::uint64_t>;
using Level3 = cache::ShardedCache<Key, std::uint64_t>;

// The cache of the run in progress, made by thread 0 before the timed loop (Google Benchmark
// starts every thread's loop together, after that) and filled with every key.
std::shared_ptr<void>& live_cache() {
  static std::shared_ptr<void> instance;
  return instance;
}

// Every run starts from the same heap: the previous run's cache is destroyed and its memory
// handed back to the system, so that a level does not inherit the free blocks another level
// scattered. Without this, the baseline measured 10 or 30 Mops/s on 1 thread depending on what
// ran before it: its nodes were contiguous in a fresh heap and scattered in a used one.
void start_from_a_clean_heap() {
  live_cache().reset();
  malloc_trim(0);
}

template <class C>
std::shared_ptr<C> filled_cache() {
  auto cache = std::make_shared<C>(cache::Options{.capacity = kCapacity, .shards = kShards});
  for (std::uint64_t k = 0; k < kKeys; ++k) cache->put(key_of_rank(k), k);
  return cache;
}

// The timed loop: each thread walks the precomputed calls from a starting point of its own.
// cache_of() gives the cache to call.
template <class CacheOf>
void run_calls(benchmark::State& state, CacheOf cache_of) {
  const auto read_percent = static_cast<std::uint8_t>(state.range(0));
  const Workload& w = workload();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * (kSequence / 8);
  std::uint64_t found = 0;
  for (auto _ : state) {
    auto& cache = cache_of();
    i = (i + 1) & (kSequence - 1);
    const Key& key = w.keys[i];
    if (w.dice[i] < read_percent) {
      found += cache.get(key).has_value() ? 1 : 0;
    } else {
      cache.put(key, i);
    }
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// One cache that every thread calls.
template <class C>
void BM_Mix(benchmark::State& state) {
  const std::shared_ptr<void>& holder = live_cache();
  if (state.thread_index() == 0) {
    start_from_a_clean_heap();
    live_cache() = filled_cache<C>();
  }
  // Read inside the loop, which begins for every thread after thread 0 made the cache.
  run_calls(state, [&holder]() -> C& { return *static_cast<C*>(holder.get()); });
}

// The machine's own bound on scaling: every thread has a level 3 cache of its own, filled the
// same way, so the threads share no data at all. Whatever speedup this reaches on 2 threads is
// what the cores, their caches and the memory bus allow; a shared cache cannot beat it.
void BM_Unshared(benchmark::State& state) {
  if (state.thread_index() == 0) start_from_a_clean_heap();
  const auto cache = filled_cache<Level3>();
  run_calls(state, [&cache]() -> Level3& { return *cache; });
}

// Percentages of reads: reads alone, the read-heavy mix, and half and half.
constexpr std::array<int, 3> kReadMixes = {100, 95, 50};

std::vector<int> thread_counts() {
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  std::vector<int> counts = {1, 2};
  if (cores > 2) counts.push_back(cores);
  return counts;
}

void register_mix(const char* name, void (*function)(benchmark::State&)) {
  // Named like "level3/reads:95/min_time:0.300/real_time/threads:2".
  auto* b = benchmark::RegisterBenchmark(name, function);
  b->ArgName("reads")->UseRealTime()->MinTime(0.3);
  for (const int reads : kReadMixes) b->Arg(reads);
  for (const int threads : thread_counts()) b->Threads(threads);
}

// Keeps the median of every measurement for the summary, and lets the console show them too.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  struct Key {
    int reads = 0;
    std::string level;
    int threads = 0;
    auto operator<=>(const Key&) const =
        default;  // NOLINT(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>
  };

  // Colours only on a terminal, so that a saved output stays plain text.
  SummaryReporter() : ConsoleReporter(isatty(STDOUT_FILENO) != 0 ? OO_Defaults : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      const bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      if (!median && !single) continue;
      const auto rate = run.counters.find("items_per_second");
      if (rate == run.counters.end()) continue;
      const std::string& args = run.run_name.args;  // "reads:95"
      Key key{.reads = std::stoi(args.substr(args.find(':') + 1)),
              .level = run.run_name.function_name,
              .threads = static_cast<int>(run.threads)};
      record(key, rate->second.value / 1e6);
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void record(const Key& key, double mops) { samples_[key].push_back(mops); }

  // Every measurement as "<prefix><reads> <level> <threads> <Mops/s>", for the parent process.
  void print_results(const char* prefix) const {
    for (const auto& [key, samples] : samples_) {
      for (const double mops : samples) {
        std::printf("%s%d %s %d %.6f\n", prefix, key.reads, key.level.c_str(), key.threads, mops);
      }
    }
  }

  // The median Mops/s of one measurement, if it was made.
  std::optional<double> mops(int reads, const std::string& level, int threads) const {
    const auto found = samples_.find(Key{reads, level, threads});
    if (found == samples_.end()) return std::nullopt;
    return median(found->second);
  }

  void print_summary() const {
    std::printf(
        "\nSummary: median Mops/s (and the range of the rounds); speedup = this thread count / 1 "
        "thread; vs baseline = this level / the std::mutex + unordered_map baseline at the same "
        "thread count; unshared = a level 3 cache per thread, nothing shared: the machine's "
        "bound on scaling\n");
    std::printf("%-6s %-14s %7s %9s %15s %8s %12s\n", "reads", "level", "threads", "Mops/s",
                "range", "speedup", "vs baseline");
    for (const auto& [key, samples] : samples_) {
      const double value = median(samples);
      const auto [low, high] = std::minmax_element(samples.begin(), samples.end());
      const auto one = mops(key.reads, key.level, 1);
      const auto base = mops(key.reads, "baseline", key.threads);
      const std::string range = format_range(*low, *high);
      std::printf("%5d%% %-14s %7d %9.2f %15s", key.reads, key.level.c_str(), key.threads, value,
                  range.c_str());
      if (one) {
        std::printf(" %7.2fx", value / *one);
      } else {
        std::printf(" %8s", "");
      }
      if (base) std::printf(" %11.2fx", value / *base);
      std::printf("\n");
    }
  }

 private:
  static double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  }
  static std::string format_range(double low, double high) {
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%.1f-%.1f", low, high);
    return text.data();
  }

  std::map<Key, std::vector<double>> samples_;
};

// Another build of this benchmark whose level 3 is measured in the same rounds, as `name`.
struct Peer {
  std::string name;
  std::string path;
};

// The going-further variants' benchmarks built beside this one: <tools>/going-further-<g>/bench
// when this one is <tools>/<impl>/bench. A variant's own benchmark has no peers.
std::vector<Peer> peers_beside(const std::string& self) {
  namespace fs = std::filesystem;
  const fs::path here = fs::absolute(self).parent_path();
  const std::string prefix = "going-further-";
  std::vector<Peer> peers;
  if (here.filename().string().rfind(prefix, 0) == 0) return peers;
  std::error_code error;
  for (const auto& dir : fs::directory_iterator(here.parent_path(), error)) {
    const std::string name = dir.path().filename().string();
    const fs::path bench = dir.path() / "bench";
    if (name.rfind(prefix, 0) == 0 && access(bench.c_str(), X_OK) == 0) {
      peers.push_back({.name = name.substr(prefix.size()), .path = bench.string()});
    }
  }
  std::sort(peers.begin(), peers.end(),
            [](const Peer& a, const Peer& b) { return a.name < b.name; });
  return peers;
}

void print_peer_ratios(const SummaryReporter& reporter, const std::vector<Peer>& peers,
                       const std::vector<int>& mixes, const std::vector<int>& threads) {
  if (peers.empty()) return;
  std::printf("\nPeers: median Mops/s of their level 3 / this level 3, same mix and threads\n");
  std::printf("%-14s %6s %7s %9s\n", "peer", "reads", "threads", "ratio");
  for (const Peer& peer : peers) {
    for (const int reads : mixes) {
      for (const int count : threads) {
        const auto theirs = reporter.mops(reads, peer.name, count);
        const auto ours = reporter.mops(reads, "level3", count);
        if (!theirs || !ours) continue;
        std::printf("%-14s %5d%% %7d %8.2fx\n", peer.name.c_str(), reads, count, *theirs / *ours);
      }
    }
  }
}

constexpr const char* kPython = "/usr/bin/python3";

// Runs the notes' Python version (bench/notes_cache.py) on the same workload; its Mops/s, or
// nothing when Python is missing or the script fails.
std::optional<double> python_mops(int reads, int threads) {
  const std::string command = std::string(kPython) + " " + COURSE_EXERCISE_DIR +
                              "/bench/notes_cache.py --reads " + std::to_string(reads) +
                              " --threads " + std::to_string(threads) + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");  // NOLINT(cert-env33-c): a fixed command line
  if (pipe == nullptr) return std::nullopt;
  char line[256] = {};
  std::optional<double> result;
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    const std::string text(line);
    const std::string prefix = "ops_per_second=";
    if (text.rfind(prefix, 0) == 0) result = std::stod(text.substr(prefix.size())) / 1e6;
  }
  if (pclose(pipe) != 0) return std::nullopt;
  return result;
}

void compare_with_python(const SummaryReporter& reporter) {
  if (access(kPython, X_OK) != 0) {
    std::printf("\n(%s not found: the notes' Python version is not measured)\n", kPython);
    return;
  }
  std::printf(
      "\nThe notes' Python version (a dict and one threading.Lock, bench/notes_cache.py) on the "
      "same workload:\n%-6s %7s %12s %14s\n",
      "reads", "threads", "Python Mops/s", "level3 / Python");
  for (const int reads : {95, 50}) {
    for (const int threads : thread_counts()) {
      const auto python = python_mops(reads, threads);
      if (!python) {
        std::printf("%5d%% %7d %12s\n", reads, threads, "failed");
        continue;
      }
      std::printf("%5d%% %7d %12.2f", reads, threads, *python);
      if (const auto level3 = reporter.mops(reads, "level3", threads)) {
        std::printf(" %13.1fx", *level3 / *python);
      }
      std::printf("\n");
    }
  }
}

// Every level the benchmark measures, by the name its rows carry.
struct Level {
  const char* name;
  void (*function)(benchmark::State&);
};
const std::array<Level, 5> kLevels = {{{"baseline", BM_Mix<MutexMap>},
                                       {"level1", BM_Mix<Level1>},
                                       {"level2", BM_Mix<Level2>},
                                       {"level3", BM_Mix<Level3>},
                                       {"unshared", BM_Unshared}}};
constexpr const char* kOneLevelFlag = "--course-one-level";
constexpr const char* kResultPrefix = "course-result ";

void register_levels() {
  for (const Level& level : kLevels) register_mix(level.name, level.function);
}

std::string shell_quoted(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs one measurement (a level, a mix, a thread count) once, in a process of its own: this
// program again, with kOneLevelFlag and a filter. The Mops/s it prints after kResultPrefix go
// into the summary; the rest of its output (Google Benchmark's tables) is dropped, and a child
// that fails is reported by its filter.
// `recorded_as` names the level in the summary when the child is a peer.
bool run_in_child(const std::string& program, const std::string& filter,
                  const std::vector<std::string>& flags, SummaryReporter& reporter,
                  const std::string& recorded_as = "") {
  std::string command = shell_quoted(program);
  command += ' ';
  command += kOneLevelFlag;
  command += ' ';
  command += shell_quoted(std::string("--benchmark_filter=").append(filter));
  command += " --benchmark_repetitions=1 2>/dev/null";
  for (const auto& flag : flags) {
    command += ' ';
    command += shell_quoted(flag);
  }
  FILE* pipe = popen(command.c_str(), "r");  // NOLINT(cert-env33-c): this program, quoted flags
  if (pipe == nullptr) return false;
  char line[1024] = {};
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    const std::string text(line);
    if (text.rfind(kResultPrefix, 0) != 0) continue;
    int reads = 0;
    int threads = 0;
    double mops = 0;
    std::array<char, 64> name{};
    if (std::sscanf(text.c_str() + std::strlen(kResultPrefix), "%d %63s %d %lf", &reads,
                    name.data(), &threads, &mops) == 4) {
      const std::string level = recorded_as.empty() ? std::string(name.data()) : recorded_as;
      reporter.record({.reads = reads, .level = level, .threads = threads}, mops);
    }
  }
  return pclose(pipe) == 0;
}

// Every measurement, once per round, each in a fresh process. In one process a measurement
// inherits the heap that the ones before it left, scattered by other threads and other types
// (the baseline measured 10 or 30 Mops/s on one thread depending on what ran before it). And a
// virtual machine's speed drifts over minutes: in rounds, every measurement sees the same drift,
// so the ratios stay fair; one measurement repeated back to back would not.
std::string filter_for(const char* level, int reads, int threads) {
  std::string filter = "^";
  filter.append(level).append("/reads:").append(std::to_string(reads));
  filter.append("/.*/threads:").append(std::to_string(threads)).append("$");
  return filter;
}

// One level (of this program, or a peer's level 3) at every mix and thread count, once.
bool run_level(const std::string& program, const char* level, const std::string& recorded_as,
               const std::vector<std::string>& flags, SummaryReporter& reporter) {
  bool all_ran = true;
  for (const int reads : kReadMixes) {
    for (const int threads : thread_counts()) {
      const std::string filter = filter_for(level, reads, threads);
      if (!run_in_child(program, filter, flags, reporter, recorded_as)) {
        std::printf(" (%s %s failed)", program.c_str(), filter.c_str());
        all_ran = false;
      }
    }
  }
  return all_ran;
}

bool run_rounds(const std::string& self, int rounds, const std::vector<std::string>& flags,
                const std::vector<Peer>& peers, SummaryReporter& reporter) {
  bool all_ran = true;
  for (int round = 1; round <= rounds; ++round) {
    std::printf("round %d of %d:", round, rounds);
    for (const Level& level : kLevels) {
      std::printf(" %s", level.name);
      std::fflush(stdout);
      all_ran = run_level(self, level.name, "", flags, reporter) && all_ran;
    }
    for (const Peer& peer : peers) {
      std::printf(" %s", peer.name.c_str());
      std::fflush(stdout);
      all_ran = run_level(peer.path, "level3", peer.name, flags, reporter) && all_ran;
    }
    std::printf("\n");
  }
  return all_ran;
}

}  // namespace

int main(int argc, char** argv) {
  // --no-python skips the notes' Python version, --no-peers the going-further variants, --peer
  // NAME=PATH adds a peer; every other flag is Google Benchmark's.
  std::vector<char*> args;
  std::vector<std::string> child_flags;
  std::vector<Peer> extra_peers;
  bool python = true;
  bool peers_beside_this = true;
  bool one_level = false;
  bool filtered = false;
  int rounds = 3;
  const std::string repetitions_flag = "--benchmark_repetitions=";
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no-python") {
      python = false;
      continue;
    }
    if (arg == "--no-peers") {
      peers_beside_this = false;
      continue;
    }
    if (const std::string flag = "--peer=";
        arg.rfind(flag, 0) == 0 && arg.find('=', flag.size()) != std::string::npos) {
      const std::size_t equals = arg.find('=', flag.size());
      extra_peers.push_back(
          {.name = arg.substr(flag.size(), equals - flag.size()), .path = arg.substr(equals + 1)});
      continue;
    }
    if (arg == kOneLevelFlag) {
      one_level = true;
      continue;
    }
    if (arg.rfind("--benchmark_filter", 0) == 0) filtered = true;
    if (arg.rfind(repetitions_flag, 0) == 0) {
      rounds = std::max(1, std::atoi(arg.c_str() + repetitions_flag.size()));
    } else if (i > 0) {
      child_flags.push_back(arg);
    }
    args.push_back(argv[i]);
  }

  SummaryReporter reporter;
  if (!filtered && !one_level) {
    std::vector<Peer> peers = peers_beside_this ? peers_beside(argv[0]) : std::vector<Peer>{};
    peers.insert(peers.end(), extra_peers.begin(), extra_peers.end());
    for (const Peer& peer : peers)
      std::printf("peer %s: %s\n", peer.name.c_str(), peer.path.c_str());
    const bool all_ran = run_rounds(argv[0], rounds, child_flags, peers, reporter);
    reporter.print_summary();
    print_peer_ratios(reporter, peers, {kReadMixes.begin(), kReadMixes.end()}, thread_counts());
    if (python) compare_with_python(reporter);
    return all_ran ? 0 : 1;
  }

  // 3 repetitions by default, reported as aggregates (the median is the one the summary quotes).
  std::string repetitions = "--benchmark_repetitions=3";
  std::string aggregates = "--benchmark_report_aggregates_only=true";
  args.insert(args.begin() + 1, {repetitions.data(), aggregates.data()});
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  (void)workload();  // drawn once, before any timing
  register_levels();
  benchmark::RunSpecifiedBenchmarks(&reporter);
  if (one_level) {
    reporter.print_results(kResultPrefix);
  } else {
    reporter.print_summary();
    if (python) compare_with_python(reporter);
  }
  benchmark::Shutdown();
  return 0;
}
