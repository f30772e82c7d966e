// `stress EX [--runs N] [--config C] [--no-load]`: the reference solution's
// tests, run N times in a row while a busy thread keeps one core loaded (the
// course's rule for timing-aware tests: they must pass on the reference every
// time, without needing a retry, on a noisy 2-core machine).
#include <atomic>
#include <iostream>
#include <map>
#include <stop_token>
#include <thread>

#include "commands/commands.hpp"
#include "course/util.hpp"
#include "running/job_pool.hpp"

namespace grader {

namespace {

// Spins until stopped: the "other process keeps one core busy" of the rule.
std::jthread busy_core() {
  return std::jthread([](const std::stop_token& stop) {
    std::atomic<std::uint64_t> spins{0};
    while (!stop.stop_requested()) spins.fetch_add(1, std::memory_order_relaxed);
  });
}

std::string first_line_of(const std::string& text) { return text.substr(0, text.find('\n')); }

struct Tally {
  int runs = 0;
  int failed = 0;   // the final attempt failed
  int retried = 0;  // passed, but only on a retry
  std::string last_reason;
};

void tally_run(const ExerciseResult& result, std::map<std::string, Tally>& tallies) {
  for (const auto& test : result.tests) {
    for (const auto& run : test.runs) {
      auto& tally = tallies[test.spec.name + " (" + std::string(to_string(run.config)) + ")"];
      ++tally.runs;
      if (!run.passed()) {
        ++tally.failed;
        tally.last_reason = run.attempts.empty() ? "not run" : run.final_attempt().reason;
      } else if (run.attempts.size() > 1) {
        ++tally.retried;
      }
    }
  }
}

BuildConfig config_named(const std::string& name) {
  std::vector<std::string> names;
  for (const auto build : test_builds()) {
    if (to_string(build) == name) return build;
    names.emplace_back(to_string(build));
  }
  throw GraderError("--config must be one of " + join(names, ", ") + " (got '" + name + "')");
}

int report_tallies(const std::map<std::string, Tally>& tallies, int rounds) {
  int flaky = 0;
  for (const auto& [name, tally] : tallies) {
    if (tally.failed == 0 && tally.retried == 0) continue;
    ++flaky;
    std::cout << "  FLAKY " << name << ": failed " << tally.failed << ", needed a retry "
              << tally.retried << " of " << tally.runs << " runs";
    if (!tally.last_reason.empty())
      std::cout << "\n        last: " << first_line_of(tally.last_reason);
    std::cout << "\n";
  }
  const auto clean = static_cast<int>(tallies.size()) - flaky;
  std::cout << "stress: " << clean << " passed, " << flaky << " failed (" << rounds
            << " rounds; a test passes when no round failed it or needed a retry)\n";
  return flaky == 0 ? 0 : 1;
}

}  // namespace

int cmd_stress(const fs::path& root, const StressArgs& args) {
  install_interrupt_handlers();
  if (args.runs < 1) throw GraderError("--runs must be at least 1");
  const auto manifests = select_exercises(load_all_manifests(root), args.exercises);
  const auto config = config_named(args.config);
  PlanOptions every_test_in_one_build;
  every_test_in_one_build.build = config;
  const auto requests =
      make_requests(root, manifests, Impl::parse("solutions"), every_test_in_one_build);
  auto progress = Progress::for_terminal();
  GradeContext context;
  context.root = root;
  context.jobs = args.jobs > 0 ? args.jobs : default_jobs();
  context.base_time_scale = base_time_scale();
  context.progress = &progress;
  const auto prepared = prepare(context, requests);
  for (const auto& p : prepared) {
    if (!p.build_errors.empty()) throw GraderError(p.request.manifest.id + " did not build");
  }

  std::map<std::string, Tally> tallies;
  {
    std::jthread load;
    if (args.load) load = busy_core();
    for (int round = 1; round <= args.runs && !interrupted(); ++round) {
      progress.step("round " + std::to_string(round) + " of " + std::to_string(args.runs) +
                    (args.load ? " (one core kept busy)" : "") + "...");
      for (const auto& result : run_prepared(context, prepared)) tally_run(result, tallies);
    }
  }
  progress.clear();
  if (interrupted()) return 130;
  return report_tallies(tallies, args.runs);
}

}  // namespace grader
