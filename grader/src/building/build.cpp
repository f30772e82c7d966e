#include "building/build.hpp"

#include <optional>
#include <regex>

#include "course/util.hpp"
#include "running/process.hpp"
#include "running/sandbox.hpp"

namespace grader {

namespace {

// Feeds Ninja's "[n/m]" status lines to the progress display as they arrive.
class NinjaProgress {
 public:
  explicit NinjaProgress(Progress& progress) : progress_(progress) {}
  void operator()(std::string_view chunk) {
    pending_ += chunk;
    std::size_t newline;
    while ((newline = pending_.find('\n')) != std::string::npos) {
      const auto line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      if (line.size() > 3 && line[0] == '[') {
        const auto close = line.find(']');
        if (close != std::string::npos && line.find('/') < close) {
          progress_.update(line.substr(0, close + 1));
        }
      }
    }
  }

 private:
  Progress& progress_;
  std::string pending_;
};

std::string log_tail(const std::string& log, std::size_t lines) {
  auto all = split_lines(log);
  if (all.size() > lines) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(lines));
  return join(all, "\n");
}

// Whether `target` is up to date: a dry run plans no step for it. CMake's check of globbed
// directories is a step of every dry run (it always runs), so it does not count; a run of CMake
// itself does, since the dry run cannot see past it.
bool nothing_to_do(const std::filesystem::path& dir, const std::string& target) {
  ProcessSpec spec;
  spec.argv = {"cmake", "--build", dir.string(), "--target", target, "--", "-n"};
  spec.interrupt_signal = 2;
  const auto result = run_process(spec);
  if (!result.succeeded()) return false;
  if (contains(result.output, "no work to do")) return true;
  static const std::regex step(R"(^\[\d+/\d+\] )");
  for (const auto& line : split_lines(result.output)) {
    if (std::regex_search(line, step) && !contains(line, "Re-checking globbed directories")) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string preset_name(BuildConfig config) { return std::string(build_info(config).preset); }

std::filesystem::path build_dir(const std::filesystem::path& root, BuildConfig config) {
  return root / "build" / preset_name(config);
}

Builder::Builder(std::filesystem::path root, Progress& progress)
    : root_(std::move(root)), progress_(progress) {}

void Builder::ensure_configured(BuildConfig config) {
  const auto dir = build_dir(root_, config);
  if (std::filesystem::exists(dir / "build.ninja")) return;
  const auto log = root_ / "build" / "logs" / ("configure-" + preset_name(config) + ".log");
  progress_.step("configuring the " + preset_name(config) + " build (first run only)...");
  ProcessSpec spec;
  spec.argv = {"cmake", "--preset", preset_name(config)};
  // Warnings are errors in the builds that grade (CI asks for it); the fuzz build compiles the
  // references with clang only to fuzz them.
  if (werror_requested() && build_info(config).runs_tests) {
    spec.argv.emplace_back("-DCOURSE_WERROR=ON");
  }
  spec.cwd = root_;
  spec.interrupt_signal = 2;
  const auto result = run_process(spec);
  write_file(log, result.output + result.error);
  if (result.ending == Ending::interrupted) throw GraderError("interrupted", 130);
  if (!result.succeeded()) {
    progress_.clear();
    throw GraderError("configuring the " + preset_name(config) + " build failed (" +
                      display_path(log, root_) + "):\n" +
                      log_tail(result.output + result.error, 30) +
                      "\nIf a package is missing, run grader/install-deps first.");
  }
}

BuildContract Builder::contract(BuildConfig config) {
  ensure_configured(config);
  ProcessSpec spec;
  spec.argv = {"cmake", "--build", build_dir(root_, config).string(), "--target", "build.ninja"};
  spec.interrupt_signal = 2;
  const auto result = run_process(spec);
  if (result.ending == Ending::interrupted) throw GraderError("interrupted", 130);
  if (!result.succeeded()) {
    progress_.clear();
    throw GraderError("CMake failed while configuring the " + preset_name(config) + " build:\n" +
                      log_tail(result.output + result.error, 30));
  }
  return BuildContract::load(build_dir(root_, config));
}

BuildResult Builder::build(BuildConfig config, const std::vector<std::string>& targets,
                           const std::string& label,
                           const std::map<std::string, std::vector<std::string>>& markers) {
  BuildResult outcome;
  const auto dir = build_dir(root_, config);
  outcome.log = root_ / "build" / "logs" / ("build-" + preset_name(config) + ".log");
  if (targets.empty()) return outcome;
  ensure_configured(config);
  progress_.step("building " + label + " (" + preset_name(config) + ")...");

  ProcessSpec spec;
  spec.argv = {"cmake", "--build", dir.string(), "--target"};
  spec.argv.insert(spec.argv.end(), targets.begin(), targets.end());
  spec.argv.insert(spec.argv.end(), {"--", "-k", "0"});
  spec.interrupt_signal = 2;  // let Ninja clean up
  // As root, student code compiles as a sandbox user (grader/sandbox-compile): the launcher finds
  // the grader here, and the course's root from its working directory.
  const auto& support = sandbox_support();
  if (support.separate_users && support.mount_namespaces) {
    std::error_code ec;
    const auto self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) spec.env = environment_with({{"COURSE_SANDBOX_COMPILE", self.string()}});
    let_the_sandbox_read(root_, dir);
  }
  NinjaProgress ninja(progress_);
  spec.on_output = [&ninja](std::string_view chunk) { ninja(chunk); };
  const auto result = run_process(spec);
  write_file(outcome.log, result.output + result.error);
  if (result.ending == Ending::interrupted) throw GraderError("interrupted", 130);
  if (result.succeeded()) return outcome;

  if (contains(result.output, "CMake Error") || result.ending == Ending::spawn_failed) {
    progress_.clear();
    throw GraderError("CMake failed while building (" + display_path(outcome.log, root_) + "):\n" +
                      log_tail(result.output + result.error, 30));
  }
  outcome.ok = false;
  // Later builds overwrite the log: the failing one is kept under its own name as well.
  write_file(root_ / "build" / "logs" / ("build-" + preset_name(config) + "-failed.log"),
             result.output + result.error);
  // A target that did not build because a step it needs failed (a library, another target's
  // object) shows that step's error: every FAILED block, else the end of the log.
  std::optional<std::string> any_failure;
  for (const auto& target : targets) {
    if (nothing_to_do(dir, target)) continue;
    const auto own = markers.find(target);
    auto errors = extract_build_errors(
        result.output, own == markers.end() ? std::vector<std::string>{} : own->second);
    if (errors.empty()) {
      if (!any_failure) any_failure = extract_build_errors(result.output, {});
      errors = !any_failure->empty() ? "a step this target needs failed:\n" + *any_failure
                                     : log_tail(result.output + result.error, 40);
    }
    outcome.errors[target] = errors;
  }
  return outcome;
}

namespace {

// A FAILED line's outputs name the target's object directory or its binary: a marker counts when
// it ends a path part, so that tests/04/mutant-a does not claim tests/04/mutant-ab.
bool names_a_step_of(const std::string& line, const std::vector<std::string>& markers) {
  for (const auto& marker : markers) {
    for (auto at = line.find(marker); at != std::string::npos; at = line.find(marker, at + 1)) {
      const auto end = at + marker.size();
      if (marker.ends_with('/') || end == line.size() || line[end] == ' ') return true;
    }
  }
  return false;
}

}  // namespace

std::string extract_build_errors(const std::string& log, const std::vector<std::string>& markers,
                                 std::size_t max_lines) {
  static const std::regex status_line(R"(^\[\d+/\d+\] )");
  std::vector<std::string> kept;
  bool in_block = false;
  bool skip_command = false;
  for (const auto& line : split_lines(log)) {
    if (line.rfind("FAILED: ", 0) == 0) {
      in_block = markers.empty() || names_a_step_of(line, markers);
      skip_command = true;
      continue;
    }
    if (std::regex_search(line, status_line) || line.rfind("ninja: ", 0) == 0) {
      in_block = false;
      continue;
    }
    if (!in_block) continue;
    if (skip_command) {  // the compiler command line itself
      skip_command = false;
      continue;
    }
    kept.push_back(line);
  }
  const auto first_error = std::find_if(kept.begin(), kept.end(),
                                        [](const std::string& l) { return contains(l, "error"); });
  if (first_error == kept.end())
    return join(kept, "\n").empty() ? "" : cap_lines(join(kept, "\n"), max_lines);
  std::vector<std::string> from_error(first_error, kept.end());
  return cap_lines(join(from_error, "\n"), max_lines);
}

}  // namespace grader
