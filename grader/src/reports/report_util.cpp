#include "reports/report_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace grader::report {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at the start of text, or 0 when it is invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto continuation = [&](std::size_t i) {
    return i < text.size() && (byte(i) & 0xC0U) == 0x80U;
  };
  const unsigned char lead = byte(0);
  if (lead < 0x80U) return 1;
  if (lead >= 0xC2U && lead <= 0xDFU) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0U && lead <= 0xEFU) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0U && byte(1) < 0xA0U) return 0;   // overlong
    if (lead == 0xEDU && byte(1) >= 0xA0U) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (lead >= 0xF0U && lead <= 0xF4U) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0U && byte(1) < 0x90U) return 0;   // overlong
    if (lead == 0xF4U && byte(1) >= 0x90U) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

bool is_noncharacter(std::string_view sequence) {  // U+FFFE and U+FFFF are not allowed in XML
  return sequence == "\xEF\xBF\xBE" || sequence == "\xEF\xBF\xBF";
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\n");
  return text.substr(first, last - first + 1);
}

// Cuts a line to at most max_width bytes without splitting a UTF-8 sequence.
std::string cut_line(std::string_view line, std::size_t max_width) {
  if (max_width == 0 || line.size() <= max_width) return std::string(line);
  std::size_t end = max_width;
  while (end > 0 && (static_cast<unsigned char>(line[end]) & 0xC0U) == 0x80U) --end;
  return std::string(line.substr(0, end)) + " [...]";
}

// The output without the reason at its start: GoogleTest's failure message usually opens the
// output, and the headline already shows it.
std::string_view output_after_reason(std::string_view output, std::string_view reason) {
  output = trim(output);
  reason = trim(reason);
  if (!reason.empty() && output.starts_with(reason)) {
    output.remove_prefix(reason.size());
    while (!output.empty() && output.front() == '\n') output.remove_prefix(1);
  }
  return output;
}

std::string first_line(std::string_view text) {
  const auto lines = split_lines(text);
  return lines.empty() ? std::string() : std::string(lines.front());
}

std::string join_notes(const std::vector<std::string>& notes) {
  std::string joined;
  for (const auto& note : notes) {
    if (!joined.empty()) joined += ", ";
    joined += note;
  }
  return joined;
}

std::string base_word(Outcome outcome, BuildConfig config) {
  switch (outcome) {
    case Outcome::passed:
      return "PASS";
    case Outcome::failed:
      return "FAIL";
    case Outcome::timeout:
      return "TIMEOUT";
    case Outcome::crashed:
      return "CRASH";
    case Outcome::sanitizer:
      if (config == BuildConfig::tsan) return "RACE";
      if (config == BuildConfig::asan) return "ASAN";
      return "SANITIZER";
    case Outcome::resource_limit:
      return "LIMIT";
    case Outcome::output_limit:
      return "OUTPUT";
    case Outcome::not_run:
      return "NOT RUN";
  }
  return "NOT RUN";
}

// "(tsan)" tells a student that the test passed normally but failed in a sanitizer build;
// "ASAN" already says so.
bool needs_config_note(Outcome outcome, BuildConfig config) {
  if (outcome == Outcome::passed || config == BuildConfig::normal) return false;
  return !(outcome == Outcome::sanitizer && config == BuildConfig::asan);
}

std::string with_notes(std::string word, const std::vector<std::string>& notes) {
  if (notes.empty()) return word;
  return word + " (" + join_notes(notes) + ")";
}

std::string attempt_line(const Attempt& attempt, BuildConfig config, std::size_t number,
                         std::size_t total) {
  std::string line = "attempt " + std::to_string(number) + " of " + std::to_string(total) + ": " +
                     outcome_word(attempt.outcome, config) + " after " +
                     format_seconds(attempt.seconds);
  const auto reason = first_line(printable(attempt.reason));
  if (!reason.empty()) line += " - " + reason;
  return line;
}

// What a sanitizer's headline means, in the course's terms.
std::string sanitizer_meaning(std::string_view report) {
  if (report.find("data race") != std::string_view::npos) {
    return "(Two threads touched the same memory at overlapping moments, at least one of them "
           "writing, and no lock or atomic ordered the accesses. The two stacks below show "
           "both sides.)";
  }
  if (report.find("lock-order-inversion") != std::string_view::npos) {
    return "(Two mutexes were taken in opposite orders by different threads: that can deadlock. "
           "Take them in one fixed order, or together with std::scoped_lock.)";
  }
  if (report.find("heap-use-after-free") != std::string_view::npos ||
      report.find("stack-use-after-scope") != std::string_view::npos) {
    return "(Memory was used after its lifetime ended: often a thread still running after "
           "the object it uses was destroyed. Join threads before their data goes away.)";
  }
  return "";
}

FailureBlock block_for_run(const RunResult& run, std::size_t max_lines) {
  FailureBlock block;
  block.run = &run;
  if (run.attempts.empty()) {
    block.headline = "NOT RUN";
    return block;
  }
  const Attempt& last = run.final_attempt();
  const std::string reason = printable(last.reason);
  const auto reason_lines = split_lines(reason);
  block.headline = outcome_word(last.outcome, run.config);
  if (!reason_lines.empty()) block.headline += ": " + std::string(reason_lines.front());

  std::vector<std::string> details;
  const std::size_t attempts = run.attempts.size();
  if (attempts > 1) {
    details.push_back(retry_note(run) + ":");
    for (std::size_t i = 0; i < attempts; ++i) {
      details.push_back("  " + attempt_line(run.attempts[i], run.config, i + 1, attempts));
    }
  }
  if (last.outcome == Outcome::sanitizer) {
    if (auto meaning = sanitizer_meaning(reason); !meaning.empty()) details.push_back(meaning);
  }
  for (std::size_t i = 1; i < reason_lines.size(); ++i) details.emplace_back(reason_lines[i]);

  // A sanitizer's reason already holds the report's first lines; its raw output (GoogleTest
  // banners, then the same report) only helps in verbose mode.
  const bool reason_is_report = last.outcome == Outcome::sanitizer && reason_lines.size() > 2;
  const bool show_output = !reason_is_report || max_lines == 0;
  if (show_output) {
    const std::string output = printable(run.output);
    // The headline already says the first message; GoogleTest's "unknown file"
    // (its location for an exception) and "Failed" (ADD_FAILURE's) say nothing
    // to a student.
    std::string_view headline_message =
        reason_lines.empty() ? std::string_view() : trim(reason_lines.front());
    headline_message = headline_message.substr(0, headline_message.find(" (and "));
    bool repeated_headline = reason_is_report;  // verbose mode shows a report's output whole
    for (auto line : split_lines(output_after_reason(output, reason))) {
      const auto text = trim(line);
      if (text == "unknown file" || text == "Failed") continue;  // GoogleTest's filler
      if (!repeated_headline && !headline_message.empty() && text == headline_message) {
        repeated_headline = true;
        continue;
      }
      details.emplace_back(line);
    }
  }

  const std::size_t max_width = max_lines == 0 ? 0 : 400;
  const std::size_t kept = max_lines == 0 ? details.size() : std::min(details.size(), max_lines);
  for (std::size_t i = 0; i < kept; ++i) block.details.push_back(cut_line(details[i], max_width));
  block.omitted = details.size() - kept;
  return block;
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t length = utf8_sequence_length(text);
    if (length == 0) {
      out += kReplacementCharacter;
      text.remove_prefix(1);
    } else {
      out += text.substr(0, length);
      text.remove_prefix(length);
    }
  }
  return out;
}

std::string printable(std::string_view text) {
  const std::string valid = valid_utf8(text);
  std::string out;
  out.reserve(valid.size());
  std::string_view rest = valid;
  while (!rest.empty()) {
    const std::size_t length = utf8_sequence_length(rest);
    const std::string_view sequence = rest.substr(0, length);
    rest.remove_prefix(length);
    if (length > 1) {
      if (!is_noncharacter(sequence)) out += sequence;
      continue;
    }
    const char c = sequence.front();
    if (c == '\r') {
      if (rest.empty() || rest.front() != '\n') out += '\n';
    } else if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7F)) {
      out += c;
    }
  }
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (const char c : printable(text)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string xml_attribute(std::string_view text) {
  std::string out;
  for (const char c : xml_escape(text)) {
    if (c == '\n') {
      out += "&#10;";
    } else if (c == '\t') {
      out += "&#9;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string markdown_cell(std::string_view text) {
  std::string out;
  for (const char c : printable(text)) {
    switch (c) {
      case '\n':
      case '\t':
        out += ' ';
        break;
      case '&':
        out += "&amp;";
        break;
      case '\\':
      case '|':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '<':
      case '>':
      case '#':
      case '~':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string markdown_fence(std::string_view text) {
  std::size_t longest = 0;
  std::size_t run = 0;
  for (const char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return lines;
}

Excerpt excerpt(std::string_view text, std::size_t max_lines, std::size_t max_width) {
  Excerpt result;
  const std::string clean = printable(text);
  const auto lines = split_lines(clean);
  const std::size_t kept = max_lines == 0 ? lines.size() : std::min(lines.size(), max_lines);
  for (std::size_t i = 0; i < kept; ++i) {
    result.lines.push_back(cut_line(lines[i], max_lines == 0 ? 0 : max_width));
  }
  result.omitted = lines.size() - kept;
  return result;
}

std::string format_points(double points) {
  char buffer[32];
  const double tenths = points * 10.0;
  const bool one_decimal = std::abs(tenths - std::round(tenths)) < 1e-9;
  std::snprintf(buffer, sizeof buffer, one_decimal ? "%.1f" : "%.2f", points);
  return buffer;
}

std::string format_seconds(double seconds) {
  char buffer[48];
  if (seconds < 10.0) {
    std::snprintf(buffer, sizeof buffer, "%.2f s", seconds);
  } else if (seconds < 60.0) {
    std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
  } else {
    const auto whole = static_cast<long long>(std::lround(seconds));
    std::snprintf(buffer, sizeof buffer, "%lld min %02lld s", whole / 60, whole % 60);
  }
  return buffer;
}

std::string format_percent(double part, double whole) {
  if (whole <= 0.0) return "0%";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", 100.0 * part / whole);
  std::string text = buffer;
  if (text.size() > 2 && text.ends_with(".0")) text.resize(text.size() - 2);
  return text + "%";
}

std::string score_summary(double score, double max_score) {
  return format_points(score) + " / " + format_points(max_score) + " points (" +
         format_percent(score, max_score) + ")";
}

std::string format_test_time(const TestResult& test) {
  return shown_outcome(test) == Outcome::not_run ? "-" : format_seconds(test.seconds());
}

TestName split_test_name(std::string_view full_name) {
  const auto dot = full_name.find('.');
  if (dot == std::string_view::npos) return {"", std::string(full_name)};
  return {std::string(full_name.substr(0, dot)), std::string(full_name.substr(dot + 1))};
}

const RunResult* deciding_run(const TestResult& test) {
  for (const auto& run : test.runs) {
    if (!run.passed()) return &run;
  }
  return test.runs.empty() ? nullptr : &test.runs.back();
}

Outcome shown_outcome(const TestResult& test) {
  const RunResult* run = deciding_run(test);
  if (run == nullptr || run->attempts.empty()) return Outcome::not_run;
  return run->final_attempt().outcome;
}

std::string outcome_word(Outcome outcome, BuildConfig config) {
  std::vector<std::string> notes;
  if (needs_config_note(outcome, config)) notes.emplace_back(to_string(config));
  return with_notes(base_word(outcome, config), notes);
}

std::string status_word(const TestResult& test) {
  const RunResult* run = deciding_run(test);
  if (run == nullptr || run->attempts.empty()) return "NOT RUN";
  const Outcome outcome = run->final_attempt().outcome;
  std::vector<std::string> notes;
  if (needs_config_note(outcome, run->config)) notes.emplace_back(to_string(run->config));
  // A passing test names the retry it needed, whichever build it was in.
  const RunResult* retried = run;
  if (test.passed()) {
    for (const auto& r : test.runs) {
      if (r.attempts.size() > 1) {
        retried = &r;
        break;
      }
    }
  }
  if (retried->attempts.size() > 1) {
    notes.push_back("retry " + std::to_string(retried->attempts.size() - 1));
  }
  return with_notes(base_word(outcome, run->config), notes);
}

std::string retry_note(const RunResult& run) {
  const std::size_t attempts = run.attempts.size();
  if (attempts <= 1) return {};
  if (run.passed()) {
    const std::size_t retries = attempts - 1;
    return "passed on retry " + std::to_string(retries) + " of " +
           std::to_string(std::max<std::size_t>(retries, kMaxTimingRetries));
  }
  return "did not pass in " + std::to_string(attempts) + " attempts";
}

std::vector<const RunResult*> failing_runs(const TestResult& test) {
  std::vector<const RunResult*> runs;
  for (const auto& run : test.runs) {
    if (!run.passed()) runs.push_back(&run);
  }
  return runs;
}

std::vector<FailureBlock> failure_blocks(const TestResult& test, std::size_t max_lines) {
  std::vector<FailureBlock> blocks;
  if (test.runs.empty()) {
    blocks.push_back(FailureBlock{nullptr, "NOT RUN", {}, 0});
    return blocks;
  }
  for (const RunResult* run : failing_runs(test)) blocks.push_back(block_for_run(*run, max_lines));
  return blocks;
}

std::string failure_text(const TestResult& test, std::size_t max_lines) {
  std::string text;
  for (const auto& block : failure_blocks(test, max_lines)) {
    text += block.headline + "\n";
    for (const auto& line : block.details) text += "  " + line + "\n";
    if (block.omitted > 0) {
      text += "  ... " + std::to_string(block.omitted) + " more lines left out\n";
    }
  }
  return text;
}

Counts count_tests(const ExerciseResult& exercise) {
  Counts counts;
  for (const auto& test : exercise.tests) {
    ++counts.tests;
    if (test.passed()) {
      ++counts.passed;
    } else if (shown_outcome(test) == Outcome::not_run) {
      ++counts.not_run;
    } else {
      ++counts.failed;
    }
  }
  return counts;
}

Counts count_tests(const GradeReport& report) {
  Counts total;
  for (const auto& exercise : report.exercises) {
    const Counts counts = count_tests(exercise);
    total.tests += counts.tests;
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.not_run += counts.not_run;
  }
  return total;
}

}  // namespace grader::report
