#include "running/gtest.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "course/util.hpp"

namespace grader {

namespace {

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

std::string exit_description(const ProcessResult& p) {
  return "exit code " + std::to_string(p.exit_code);
}

Classification classify_from_channel(const RunObservation& run) {
  const auto& p = run.process;
  const auto& channel = run.channel;
  const auto output = strip_gtest_noise(p.output);
  if (!channel.problems.empty()) {
    return {Outcome::failed,
            "the test's result channel was tampered with (" + channel.problems.front() +
                "); only the course's harness may report results",
            output};
  }
  if (!channel.tampers.empty()) return {Outcome::failed, channel.tampers.front(), output};
  if (!channel.started) {
    if (channel.done) {
      return {Outcome::not_run, "the test binary has no test named " + run.test_name, ""};
    }
    return {Outcome::failed,
            "the test program ended (" + exit_description(p) +
                ") before the test started: code that runs at start-up, such as a static "
                "initialiser, called exit() or ended the program",
            output};
  }
  if (!channel.ended) {
    return {Outcome::failed,
            "the test program ended (" + exit_description(p) +
                ") in the middle of the test: something called exit(), _exit() or "
                "quick_exit(); return from your functions or throw instead",
            output};
  }
  if (channel.status == "skipped") {
    return {Outcome::not_run, skip_message(p.output), ""};
  }
  if (channel.status == "passed") {
    if (!channel.done) {
      return {Outcome::failed,
              "the test passed, but the program then ended (" + exit_description(p) +
                  ") without returning from main: something called exit() after the test",
              output};
    }
    if (p.exit_code == 0) return {Outcome::passed, "", ""};
    return {Outcome::failed,
            "the test passed, then the process exited with code " + std::to_string(p.exit_code),
            output};
  }
  const auto messages = join(channel.failures, "\n\n");
  if (auto hint = resource_hint(messages)) {
    return {Outcome::resource_limit, "hit a resource limit: " + *hint, messages};
  }
  std::string reason =
      channel.failures.empty() ? "failed" : first_message_line(channel.failures[0]);
  if (channel.failures.size() > 1) {
    reason += " (and " + std::to_string(channel.failures.size() - 1) + " more failure" +
              (channel.failures.size() > 2 ? "s" : "") + ")";
  }
  return {Outcome::failed, reason, messages};
}

std::string unescaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char next = text[++i];
    out += next == 'n' ? '\n' : next == 'r' ? '\r' : next;
  }
  return out;
}

}  // namespace

ChannelReport parse_channel(std::string_view report, std::string_view secret,
                            std::string_view expected_test) {
  ChannelReport out;
  auto problem = [&out](std::string text) {
    if (out.problems.size() < 3) out.problems.push_back(std::move(text));
  };
  std::size_t pos = 0;
  while (pos < report.size()) {
    const auto newline = report.find('\n', pos);
    if (newline == std::string_view::npos) break;  // cut off when the process was killed
    const auto line = report.substr(pos, newline - pos);
    pos = newline + 1;
    if (secret.empty() || line.size() <= secret.size() || line.substr(0, secret.size()) != secret ||
        line[secret.size()] != ' ') {
      problem("a line without the run's secret");
      continue;
    }
    const auto rest = line.substr(secret.size() + 1);
    const auto space = rest.find(' ');
    const auto kind = rest.substr(0, space);
    const auto payload =
        unescaped(space == std::string_view::npos ? std::string_view() : rest.substr(space + 1));
    if (out.done) {
      problem("'" + std::string(kind) + "' after the end of the program");
    } else if (kind == "start") {
      if (out.started || payload != expected_test) problem("an unexpected start of " + payload);
      out.started = true;
    } else if (kind == "failure" || kind == "skip" || kind == "tamper") {
      if (!out.started || out.ended) problem("'" + std::string(kind) + "' outside the test");
      auto& list = kind == "failure" ? out.failures : kind == "skip" ? out.skips : out.tampers;
      list.push_back(payload);
    } else if (kind == "end") {
      const auto last_space = payload.rfind(' ');
      const auto name = payload.substr(0, last_space == std::string::npos ? 0 : last_space);
      const auto status = last_space == std::string::npos ? "" : payload.substr(last_space + 1);
      if (!out.started || out.ended || name != expected_test ||
          (status != "passed" && status != "failed" && status != "skipped")) {
        problem("an unexpected end: " + payload);
      }
      out.ended = true;
      out.status = status;
    } else if (kind == "test") {
      out.listed.push_back(payload);
    } else if (kind == "done") {
      out.done = true;
    } else {
      problem("an unknown line '" + std::string(kind) + "'");
    }
  }
  return out;
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
    case Ending::memory_limit:
      return {Outcome::resource_limit,
              "used more than " + format_number(run.memory_limit / (1024.0 * 1024.0)) +
                  " MiB of memory (the memory limit); the kernel stopped it",
              strip_gtest_noise(p.output)};
    case Ending::process_limit:
      return {Outcome::resource_limit,
              "ran more than " + std::to_string(run.process_limit) +
                  " processes or too many threads at once (a fork bomb?); all of them were "
                  "killed",
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
  return classify_from_channel(run);
}

}  // namespace grader
