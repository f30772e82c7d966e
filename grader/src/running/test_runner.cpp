#include "running/test_runner.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "course/time_scale.hpp"
#include "course/util.hpp"
#include "running/gtest.hpp"
#include "running/sandbox.hpp"

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
  // No suppressions: a race the reference would need one for is a race to fix.
  const std::string tsan = "halt_on_error=1 exitcode=66 second_deadlock_stack=1";
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

// Trace files the run wrote: regular files only (a symlink could point anywhere), at most
// max_trace_files of at most max_trace_bytes each.
std::vector<fs::path> keep_traces(const fs::path& from, const TestRunRequest& request) {
  std::vector<fs::path> kept;
  std::error_code ec;
  if (request.trace_dir.empty() || !fs::is_directory(fs::symlink_status(from, ec))) return kept;
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    const auto status = entry.symlink_status(ec);
    if (!ec && fs::is_regular_file(status) && entry.path().extension() == ".json" &&
        entry.file_size(ec) <= request.policy.max_trace_bytes) {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  if (found.size() > static_cast<std::size_t>(request.policy.max_trace_files))
    found.resize(static_cast<std::size_t>(request.policy.max_trace_files));
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

// 32 hex digits from the kernel's random source.
std::string random_secret() {
  unsigned char bytes[16] = {};
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::read(fd, bytes, sizeof bytes) != static_cast<ssize_t>(sizeof bytes)) {
    if (fd >= 0) ::close(fd);
    throw GraderError("cannot read /dev/urandom for a run's secret");
  }
  ::close(fd);
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// The sandbox of one run of `binary` under `policy`, in build `config`: the build's launch
// settings (kBuilds) become the sandbox's request.
std::unique_ptr<RunSandbox> open_sandbox(const SandboxPolicy& policy, BuildConfig config,
                                         const fs::path& root, const fs::path& binary) {
  const auto& build = build_info(config);
  SandboxRequest request;
  request.root = root;
  request.binary = binary;
  request.tmp_bytes = policy.tmp_bytes;
  request.cgroup.max_tasks = policy.max_tasks;
  request.cgroup.max_memory_bytes =
      build.sanitized ? policy.sanitizer_memory_bytes : policy.memory_bytes;
  request.syscalls = policy.syscalls;
  if (build.leak_tracer) request.syscalls->tracer = true;
  request.no_aslr = build.fixed_layout;
  request.uids = policy.uids;
  return std::make_unique<RunSandbox>(request);
}

struct AttemptRecord {
  Attempt attempt;
  std::string output;
  std::vector<fs::path> traces;
  bool every_failure_timing = false;  // each failed assertion carries course::kTimingMark
};

constexpr double kListingSeconds = 20.0;

// The kit's mark of an assertion that depends on the schedule (common/include/course/testing.hpp).
constexpr std::string_view kTimingMark = "[timing]";

bool every_failure_marked_timing(const std::vector<std::string>& failures) {
  return !failures.empty() && std::all_of(failures.begin(), failures.end(), [](const auto& f) {
    return f.find(kTimingMark) != std::string::npos;
  });
}

AttemptRecord run_attempt(const TestRunRequest& request) {
  const double scale = request.base_time_scale * config_time_factor(request.config);
  const double timeout = request.spec.timeout_s * scale;
  const auto cpu_limit = static_cast<std::uint64_t>(2.0 * timeout + 5.0);
  const auto& policy = request.policy;
  const auto binary = fs::absolute(request.binary);

  std::unique_ptr<RunSandbox> box;
  try {
    box = open_sandbox(policy, request.config, request.root, binary);
  } catch (const SandboxRefused& refused) {
    AttemptRecord record;
    record.attempt.outcome = Outcome::not_run;
    record.attempt.reason = std::string("not run: ") + refused.what() +
                            ". The grader never runs a test as root (see \"Threat model\" in "
                            "grader/README.md).";
    return record;
  }
  const auto trace_dir = box->make_subdir("traces");
  auto env = test_environment(request, box->run_dir() / "traces", scale);
  const auto dirs = box->environment();
  env.insert(env.end(), dirs.begin(), dirs.end());

  ProcessSpec spec;
  spec.isolation = box->isolation();
  spec.cwd = box->run_dir();

  spec.argv.push_back(binary.string());
  spec.argv.push_back("--gtest_filter=" + request.spec.name);
  spec.argv.push_back("--gtest_color=no");
  spec.env = without_gtest_variables(environment_with(env), request);
  spec.limits.wall_timeout_s = timeout;
  spec.limits.cpu_seconds = cpu_limit;
  if (!build_info(request.config).sanitized) {
    spec.limits.address_space_bytes = policy.address_space_bytes;
  }
  spec.limits.file_size_bytes = policy.file_size_bytes;
  spec.limits.process_headroom = policy.process_headroom;
  spec.limits.max_group_processes = policy.max_group_processes;
  spec.limits.output_cap_bytes = policy.output_cap_bytes;
  const auto secret = random_secret();
  spec.channel_secret = secret;

  RunObservation observation;
  observation.process = run_process(spec);
  observation.channel = parse_channel(observation.process.report, secret, request.spec.name);
  observation.test_name = request.spec.name;
  observation.timeout_s = timeout;
  observation.cpu_limit_s = static_cast<double>(cpu_limit);
  observation.file_size_limit = static_cast<double>(policy.file_size_bytes);
  observation.process_limit = policy.max_group_processes;
  observation.memory_limit = static_cast<double>(
      build_info(request.config).sanitized ? policy.sanitizer_memory_bytes : policy.memory_bytes);
  observation.output_cap = policy.output_cap_bytes;

  const auto verdict = classify(observation);
  AttemptRecord record;
  record.attempt.outcome = verdict.outcome;
  record.attempt.reason = verdict.reason;
  record.attempt.seconds = observation.process.seconds;
  record.output = verdict.output;
  record.traces = keep_traces(trace_dir, request);
  record.every_failure_timing = every_failure_marked_timing(observation.channel.failures);
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

double config_time_factor(BuildConfig config) { return build_info(config).time_factor; }

// Whether a failed attempt is worth running again: an assertion of a timing test that depends on
// the schedule (an upper bound on elapsed time, an overlap a loaded machine may not give) may fail
// by bad luck, and the kit marks each such assertion with kTimingMark. Any other failure fails the
// same way every time: a wrong result, a lower bound only the code can break, an exception (a
// skeleton's "not implemented yet"), a crash, a race or a hang. So an attempt is retried only when
// it failed and every one of its failed assertions carries the mark.
bool worth_retrying(const AttemptRecord& record) {
  return record.attempt.outcome == Outcome::failed && record.every_failure_timing;
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
    if (!worth_retrying(record) || interrupted()) break;
  }
  return result;
}

TestListing list_tests(const fs::path& binary, const fs::path& root, const SandboxPolicy& policy,
                       BuildConfig config) {
  TestListing listing;
  const auto absolute = fs::absolute(binary);
  std::unique_ptr<RunSandbox> box;
  try {
    box = open_sandbox(policy, config, root, absolute);
  } catch (const SandboxRefused& refused) {
    listing.error = refused.what();
    return listing;
  }
  ProcessSpec spec;
  spec.isolation = box->isolation();
  spec.cwd = box->run_dir();
  const auto env = box->environment();
  spec.argv.push_back(absolute.string());
  spec.argv.push_back("--gtest_list_tests");
  spec.env = environment_with(env);
  // Listing takes well under a second; 20 s (scaled) leaves room for a slow start under a sanitizer
  // on a loaded machine, and bounds what a static initialiser that never returns (a submission's
  // fork bomb that then waits, say) costs before the exercise is marked as not listing.
  spec.limits.wall_timeout_s = kListingSeconds * base_time_scale() * config_time_factor(config);
  spec.limits.cpu_seconds = static_cast<std::uint64_t>(kListingSeconds);
  // A sanitizer reserves terabytes of address space up front, as in a test's run.
  if (!build_info(config).sanitized) spec.limits.address_space_bytes = policy.address_space_bytes;
  spec.limits.file_size_bytes = policy.file_size_bytes;
  spec.limits.process_headroom = policy.process_headroom;
  spec.limits.output_cap_bytes = 8 << 20;
  spec.limits.max_group_processes = policy.max_group_processes;
  const auto secret = random_secret();
  spec.channel_secret = secret;
  const auto result = run_process(spec);
  const auto channel = parse_channel(result.report, secret, "");
  if (result.succeeded() && channel.done && channel.problems.empty() && !channel.started) {
    listing.names = channel.listed;
    return listing;
  }
  switch (result.ending) {
    case Ending::spawn_failed:
      listing.error = result.error;
      break;
    case Ending::signaled:
      listing.error = "it crashed with " + describe_signal(result.signal);
      break;
    case Ending::timed_out:
      listing.error = "it did not answer in time";
      break;
    case Ending::exited:
      listing.error = result.exit_code != 0
                          ? "it exited with code " + std::to_string(result.exit_code)
                      : !channel.problems.empty() ? "its result channel was tampered with"
                                                  : "it ended before GoogleTest listed the tests "
                                                    "(did code at start-up call exit()?)";
      break;
    default:
      listing.error = "it hit a limit while starting (memory, processes or output)";
      break;
  }
  return listing;
}

}  // namespace grader
