#include "test_runner.hpp"

#include <sys/utsname.h>

#include <algorithm>

#include "gtest.hpp"
#include "util.hpp"

namespace grader {

namespace {

std::string safe_file_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> test_environment(const TestRunRequest& request,
                                                                  const fs::path& trace_dir,
                                                                  double scale) {
  std::string tsan = "halt_on_error=1 exitcode=66 second_deadlock_stack=1";
  const auto supp = request.root / "common" / "tsan.supp";
  if (!request.root.empty() && fs::exists(supp)) tsan += " suppressions=" + supp.string();
  std::vector<std::pair<std::string, std::string>> env = {
      {"COURSE_TIME_SCALE", format_number(scale)},
      {"COURSE_TRACE_DIR", trace_dir.string()},
      {"TSAN_OPTIONS", tsan},
      {"ASAN_OPTIONS", "detect_leaks=1 exitcode=66 abort_on_error=0"},
      {"UBSAN_OPTIONS", "halt_on_error=1 print_stacktrace=1 exitcode=66"},
  };
  for (const auto& kv : request.extra_env) env.push_back(kv);
  return env;
}

std::vector<std::string> without_gtest_variables(std::vector<std::string> env,
                                                 const TestRunRequest& request) {
  // GTEST_REPEAT, GTEST_SHUFFLE... in the grader's environment would change
  // how the test runs; only variables the request sets explicitly survive.
  std::erase_if(env, [&](const std::string& entry) {
    if (entry.rfind("GTEST_", 0) != 0) return false;
    const auto name = entry.substr(0, entry.find('='));
    return std::none_of(request.extra_env.begin(), request.extra_env.end(),
                        [&](const auto& kv) { return kv.first == name; });
  });
  return env;
}

std::vector<fs::path> keep_traces(const fs::path& from, const TestRunRequest& request) {
  std::vector<fs::path> kept;
  std::error_code ec;
  if (request.trace_dir.empty() || !fs::is_directory(from, ec)) return kept;
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    if (entry.is_regular_file(ec) && entry.path().extension() == ".json")
      found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  for (const auto& file : found) {
    const auto dest = request.trace_dir /
                      (safe_file_name(request.spec.name) + "-" +
                       std::string(to_string(request.config)) + "-" + file.filename().string());
    fs::create_directories(dest.parent_path(), ec);
    fs::copy_file(file, dest, fs::copy_options::overwrite_existing, ec);
    if (!ec) kept.push_back(dest);
  }
  return kept;
}

struct AttemptRecord {
  Attempt attempt;
  std::string output;
  std::vector<fs::path> traces;
};

AttemptRecord run_attempt(const TestRunRequest& request) {
  const double scale = request.base_time_scale * config_time_factor(request.config);
  const double timeout = request.spec.timeout_s * scale;
  const auto cpu_limit = static_cast<std::uint64_t>(2.0 * timeout + 5.0);
  const auto& policy = request.policy;

  TempDir work("course-test-");
  const auto trace_dir = work.path() / "traces";
  const auto result_file = work.path() / "result.json";
  fs::create_directories(trace_dir);

  ProcessSpec spec;
  if (request.config == BuildConfig::tsan) spec.argv = tsan_launcher_prefix();
  spec.argv.push_back(fs::absolute(request.binary).string());
  spec.argv.push_back("--gtest_filter=" + request.spec.name);
  spec.argv.push_back("--gtest_output=json:" + result_file.string());
  spec.argv.push_back("--gtest_color=no");
  spec.env = without_gtest_variables(environment_with(test_environment(request, trace_dir, scale)),
                                     request);
  spec.cwd = work.path();
  spec.limits.wall_timeout_s = timeout;
  spec.limits.cpu_seconds = cpu_limit;
  if (request.config == BuildConfig::normal) {
    spec.limits.address_space_bytes = policy.address_space_bytes;
  }
  spec.limits.file_size_bytes = policy.file_size_bytes;
  spec.limits.process_headroom = policy.process_headroom;
  spec.limits.max_group_processes = policy.max_group_processes;
  spec.limits.output_cap_bytes = policy.output_cap_bytes;

  RunObservation observation;
  observation.process = run_process(spec);
  observation.json = try_read_file(result_file);
  observation.test_name = request.spec.name;
  observation.timeout_s = timeout;
  observation.cpu_limit_s = static_cast<double>(cpu_limit);
  observation.file_size_limit = static_cast<double>(policy.file_size_bytes);
  observation.process_limit = policy.max_group_processes;
  observation.output_cap = policy.output_cap_bytes;

  const auto verdict = classify(observation);
  AttemptRecord record;
  record.attempt.outcome = verdict.outcome;
  record.attempt.reason = verdict.reason;
  record.attempt.seconds = observation.process.seconds;
  record.output = verdict.output;
  record.traces = keep_traces(trace_dir, request);
  return record;
}

}  // namespace

const std::vector<std::string>& tsan_launcher_prefix() {
  // TSan aborts at start-up on kernels with a large mmap randomisation
  // (vm.mmap_rnd_bits = 32); `setarch <machine> -R` turns randomisation off.
  static const std::vector<std::string> prefix = [] {
    utsname names{};
    if (::uname(&names) != 0 || !find_executable("setarch")) return std::vector<std::string>{};
    std::vector<std::string> candidate = {"setarch", names.machine, "-R"};
    ProcessSpec probe;
    probe.argv = candidate;
    probe.argv.emplace_back("true");
    probe.limits.wall_timeout_s = 10.0;
    return run_process(probe).succeeded() ? candidate : std::vector<std::string>{};
  }();
  return prefix;
}

double config_time_factor(BuildConfig config) {
  switch (config) {
    case BuildConfig::normal:
      return 1.0;
    case BuildConfig::asan:
      return 2.0;
    case BuildConfig::tsan:
      return 4.0;
  }
  return 1.0;
}

RunResult run_test(const TestRunRequest& request) {
  RunResult result;
  result.config = request.config;
  const int retries = request.spec.has_tag("timing") ? request.policy.max_timing_retries : 0;
  for (int attempt = 0; attempt <= retries; ++attempt) {
    auto record = run_attempt(request);
    result.attempts.push_back(record.attempt);
    result.output = std::move(record.output);
    result.traces = std::move(record.traces);
    // Only an assertion failure may be bad luck on a loaded machine; a crash,
    // a race or a hang is a real defect and is not retried.
    if (record.attempt.outcome != Outcome::failed || interrupted()) break;
  }
  return result;
}

TestListing list_tests(const fs::path& binary) {
  TestListing listing;
  TempDir work("course-list-");
  ProcessSpec spec;
  spec.argv = {fs::absolute(binary).string(), "--gtest_list_tests"};
  spec.cwd = work.path();
  spec.limits.wall_timeout_s = 60.0 * base_time_scale();
  spec.limits.output_cap_bytes = 8 << 20;
  spec.limits.max_group_processes = 128;
  const auto result = run_process(spec);
  if (!result.succeeded()) {
    listing.error = result.ending == Ending::spawn_failed ? result.error
                    : result.ending == Ending::signaled
                        ? "it crashed with " + describe_signal(result.signal)
                    : result.ending == Ending::timed_out
                        ? std::string("it did not answer in time")
                        : "it exited with code " + std::to_string(result.exit_code);
    return listing;
  }
  listing.names = parse_test_list(result.output);
  return listing;
}

}  // namespace grader
