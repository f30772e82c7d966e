#include "gtest.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "util.hpp"

namespace grader {

namespace {

std::string without_comment(std::string_view line) {
  const auto hash = line.find("  #");
  return trim(line.substr(0, hash));
}

double parse_gtest_time(const nlohmann::json& value) {
  // GoogleTest writes "1.234s" (a string); accept a number too.
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return 0.0;
  return std::strtod(value.get<std::string>().c_str(), nullptr);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "tests/counter_test.cpp:25", "unknown file", "t.cpp:4: Failure". (No
// std::regex here: this runs on the job pool's threads, and libstdc++'s regex
// compiler writes a shared locale cache.)
bool is_location_line(std::string_view line) {
  if (line == "unknown file") return true;
  if (line.ends_with(": Failure")) line.remove_suffix(9);
  if (line.find_first_of(" \t") != std::string_view::npos) return false;
  const auto colon = line.rfind(':');
  return colon != std::string_view::npos && colon > 0 && all_digits(line.substr(colon + 1));
}

std::string first_message_line(std::string_view failure) {
  for (const auto& line : split_lines(failure)) {
    auto t = trim(line);
    if (t.empty() || t == "Failed" || is_location_line(t)) continue;
    return t;
  }
  return "an assertion failed";
}

const char* const kSanitizerMarkers[] = {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
                                         "ERROR: LeakSanitizer", "runtime error:"};

const char* const kResourceMarkers[] = {"Resource temporarily unavailable", "std::bad_alloc",
                                        "Cannot allocate memory", "fork: retry"};

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// "==123==ERROR: ..." -> "ERROR: ...", "(pid=123)" dropped, frame addresses
// ("0x55d1 in ") and module offsets ("(binary+0x1234)") dropped.
std::string tidy_sanitizer_line(std::string line) {
  if (line.rfind("==", 0) == 0) {
    const auto end = line.find("==", 2);
    if (end != std::string::npos && all_digits(std::string_view(line).substr(2, end - 2))) {
      line.erase(0, end + 2);
    }
  }
  if (const auto pid = line.find(" (pid="); pid != std::string::npos) {
    const auto close = line.find(')', pid);
    if (close != std::string::npos) line.erase(pid, close - pid + 1);
  }
  for (auto hex = line.find("0x"); hex != std::string::npos; hex = line.find("0x", hex + 1)) {
    auto end = hex + 2;
    while (end < line.size() && is_hex_digit(line[end])) ++end;
    if (end > hex + 2 && line.compare(end, 4, " in ") == 0) {
      line.erase(hex, end + 4 - hex);
      break;
    }
  }
  if (!line.empty() && line.back() == ')') {
    const auto open = line.rfind(" (");
    if (open != std::string::npos && line.find("+0x", open) != std::string::npos &&
        line.find('(', open + 2) == std::string::npos) {
      line.erase(open);
    }
  }
  return line;
}

bool is_sanitizer_noise(std::string_view line) {
  const auto t = trim(line);
  if (t.empty() || t.find_first_not_of('=') == std::string::npos) return true;
  if (contains(line, "libsanitizer") || contains(line, "sanitizer_common") ||
      contains(line, "/libtsan") || contains(line, "/libasan") || contains(line, "/libubsan")) {
    return true;
  }
  // Stack frames inside the standard library or unknown code say little
  // about the student's mistake; the frames in their own files do.
  const bool frame = t.size() > 1 && t[0] == '#' && t[1] >= '0' && t[1] <= '9';
  return frame && (contains(t, "/usr/include/") || contains(t, "/usr/lib/") ||
                   contains(t, "<null>") || contains(t, "libc.so") || contains(t, "libstdc++"));
}

std::string timeout_reason(double seconds) {
  return "timed out after " + format_number(seconds) +
         " s (the test's limit); a deadlock or a sequential implementation looks like this";
}

std::string crash_reason(const RunObservation& run) {
  std::string reason = "crashed with " + describe_signal(run.process.signal);
  for (const auto& line : split_lines(run.process.output)) {
    if (contains(line, "terminate called") || contains(line, "what():") ||
        contains(line, "Assertion") || contains(line, "assertion")) {
      reason += ": " + trim(line);
      break;
    }
  }
  return reason;
}

std::optional<std::string> resource_hint(std::string_view output) {
  for (const auto& line : split_lines(output)) {
    for (const char* marker : kResourceMarkers) {
      if (contains(line, marker)) return trim(line);
    }
  }
  return std::nullopt;
}

std::string skip_message(std::string_view output) {
  // GoogleTest prints "file:line: Skipped", the message, then "[  SKIPPED ]".
  std::vector<std::string> message;
  bool inside = false;
  for (const auto& line : split_lines(output)) {
    if (contains(line, ": Skipped")) {
      inside = true;
      continue;
    }
    if (inside && contains(line, "[  SKIPPED ]")) break;
    if (inside && !trim(line).empty()) message.push_back(trim(line));
  }
  return message.empty() ? "skipped" : "skipped: " + join(message, " ");
}

Classification classify_signal(const RunObservation& run) {
  const auto& p = run.process;
  if (p.signal == SIGXCPU) {
    return {Outcome::resource_limit,
            "used more than " + format_number(run.cpu_limit_s) + " s of CPU time (the CPU limit)",
            strip_gtest_noise(p.output)};
  }
  if (p.signal == SIGXFSZ) {
    return {Outcome::resource_limit,
            "wrote a file larger than " + format_number(run.file_size_limit / (1024.0 * 1024.0)) +
                " MiB (the file size limit)",
            strip_gtest_noise(p.output)};
  }
  return {Outcome::crashed, crash_reason(run), strip_gtest_noise(p.output)};
}

Classification classify_from_json(const RunObservation& run) {
  const auto& p = run.process;
  const auto entry = run.json ? find_in_gtest_json(*run.json, run.test_name) : std::nullopt;
  if (!entry) {
    if (p.exit_code == 0) {
      return {Outcome::not_run, "the test binary has no test named " + run.test_name, ""};
    }
    return {Outcome::failed,
            "the test process exited with code " + std::to_string(p.exit_code) +
                " before the test finished",
            strip_gtest_noise(p.output)};
  }
  switch (entry->status) {
    case GtestCase::Status::passed:
      if (p.exit_code == 0) return {Outcome::passed, "", ""};
      return {Outcome::failed,
              "the test passed, then the process exited with code " + std::to_string(p.exit_code),
              strip_gtest_noise(p.output)};
    case GtestCase::Status::skipped:
      return {Outcome::not_run, skip_message(p.output), ""};
    case GtestCase::Status::failed:
      break;
  }
  const auto messages = join(entry->failures, "\n\n");
  if (auto hint = resource_hint(messages)) {
    return {Outcome::resource_limit, "hit a resource limit: " + *hint, messages};
  }
  std::string reason = entry->failures.empty() ? "failed" : first_message_line(entry->failures[0]);
  if (entry->failures.size() > 1) {
    reason += " (and " + std::to_string(entry->failures.size() - 1) + " more failure" +
              (entry->failures.size() > 2 ? "s" : "") + ")";
  }
  return {Outcome::failed, reason, messages};
}

}  // namespace

std::vector<std::string> parse_test_list(std::string_view output) {
  std::vector<std::string> names;
  std::string suite;
  for (const auto& raw : split_lines(output)) {
    if (raw.empty()) continue;
    if (raw[0] != ' ') {
      const auto line = without_comment(raw);
      suite = (!line.empty() && line.back() == '.' && line.find(' ') == std::string::npos)
                  ? line
                  : std::string();
      continue;
    }
    const auto test_case = without_comment(raw);
    if (!suite.empty() && !test_case.empty()) names.push_back(suite + test_case);
  }
  return names;
}

std::optional<GtestCase> find_in_gtest_json(std::string_view json, std::string_view full_name) {
  const auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto dot = full_name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto suite = full_name.substr(0, dot);
  const auto name = full_name.substr(dot + 1);
  for (const auto& s : doc.value("testsuites", nlohmann::json::array())) {
    if (!s.is_object() || s.value("name", "") != suite) continue;
    for (const auto& t : s.value("testsuite", nlohmann::json::array())) {
      if (!t.is_object() || t.value("name", "") != name) continue;
      GtestCase result;
      if (t.contains("time")) result.seconds = parse_gtest_time(t["time"]);
      for (const auto& f : t.value("failures", nlohmann::json::array())) {
        if (f.is_object()) result.failures.push_back(f.value("failure", ""));
      }
      const auto status = t.value("result", "COMPLETED");
      if (status == "SKIPPED") {
        result.status = GtestCase::Status::skipped;
      } else if (!result.failures.empty() || t.value("status", "RUN") != "RUN") {
        result.status = GtestCase::Status::failed;
      } else {
        result.status = GtestCase::Status::passed;
      }
      return result;
    }
  }
  return std::nullopt;
}

std::string sanitizer_excerpt(std::string_view output, std::size_t max_lines) {
  const auto lines = split_lines(output);
  std::size_t start = lines.size();
  for (std::size_t i = 0; i < lines.size() && start == lines.size(); ++i) {
    for (const char* marker : kSanitizerMarkers) {
      if (contains(lines[i], marker)) {
        start = i;
        break;
      }
    }
  }
  std::vector<std::string> kept;
  for (std::size_t i = start; i < lines.size() && kept.size() < max_lines; ++i) {
    if (is_sanitizer_noise(lines[i])) continue;
    if (contains(lines[i], "SUMMARY:")) {
      kept.push_back(tidy_sanitizer_line(trim(lines[i])));
      break;
    }
    kept.push_back(tidy_sanitizer_line(lines[i]));
  }
  return join(kept, "\n");
}

std::string strip_gtest_noise(std::string_view output) {
  std::vector<std::string> kept;
  for (const auto& line : split_lines(output)) {
    if (line.rfind("Running main() from", 0) == 0 ||
        line.rfind("Note: Google Test filter", 0) == 0 || line.rfind("[==========]", 0) == 0 ||
        line.rfind("[----------]", 0) == 0 || line.rfind("[ RUN      ]", 0) == 0 ||
        line.rfind("[       OK ]", 0) == 0 || line.rfind("[  PASSED  ]", 0) == 0 ||
        line.rfind("[  FAILED  ]", 0) == 0 || line.rfind("[  SKIPPED ]", 0) == 0 ||
        contains(line, "FAILED TEST")) {
      continue;
    }
    kept.push_back(line);
  }
  while (!kept.empty() && trim(kept.back()).empty()) kept.pop_back();
  while (!kept.empty() && trim(kept.front()).empty()) kept.erase(kept.begin());
  return join(kept, "\n");
}

Classification classify(const RunObservation& run) {
  const auto& p = run.process;
  switch (p.ending) {
    case Ending::spawn_failed:
      return {Outcome::not_run, "could not start the test binary: " + p.error, ""};
    case Ending::interrupted:
      return {Outcome::not_run, "interrupted", ""};
    case Ending::timed_out:
      return {Outcome::timeout, timeout_reason(run.timeout_s), strip_gtest_noise(p.output)};
    case Ending::output_limit:
      return {Outcome::output_limit,
              "printed more than " + std::to_string(run.output_cap / 1024) + " KiB",
              strip_gtest_noise(p.output)};
    case Ending::process_limit:
      return {Outcome::resource_limit,
              "ran more than " + std::to_string(run.process_limit) +
                  " processes at once (a fork bomb?); all of them were killed",
              strip_gtest_noise(p.output)};
    case Ending::exited:
    case Ending::signaled:
      break;
  }
  if (auto excerpt = sanitizer_excerpt(p.output); !excerpt.empty()) {
    return {Outcome::sanitizer, excerpt, strip_gtest_noise(p.output)};
  }
  const bool clean_exit = p.ending == Ending::exited && p.exit_code == 0;
  if (!clean_exit) {
    if (p.ending == Ending::signaled && (p.signal == SIGXCPU || p.signal == SIGXFSZ)) {
      return classify_signal(run);
    }
    if (auto hint = resource_hint(p.output)) {
      return {Outcome::resource_limit, "hit a resource limit: " + *hint,
              strip_gtest_noise(p.output)};
    }
    if (p.ending == Ending::signaled) return classify_signal(run);
  }
  return classify_from_json(run);
}

}  // namespace grader
