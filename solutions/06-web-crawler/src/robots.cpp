// Level 2: robots.txt (RFC 9309): which group applies to us, and which rule wins for a path.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "crawler/crawler.hpp"

namespace crawler {
namespace {

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

std::string_view trimmed(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Whether `pattern` matches the start of `path`: '*' matches any run of characters, and a final
// '$' requires the match to reach the end of the path. Greedy matching that backtracks to the
// last '*' only: O(pattern × path) even for a hostile pattern such as "*a*a*a*a*b".
bool matches(std::string_view pattern, std::string_view path) {
  const bool anchored = !pattern.empty() && pattern.back() == '$';
  std::string glob(anchored ? pattern.substr(0, pattern.size() - 1) : pattern);
  if (!anchored) glob += '*';  // a prefix match: anything may follow
  std::size_t g = 0;
  std::size_t p = 0;
  std::size_t star = std::string::npos;  // the last '*' seen in glob
  std::size_t resume = 0;                // where in path that '*' would take one more character
  while (p < path.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = p;
    } else if (g < glob.size() && glob[g] == path[p]) {
      ++g;
      ++p;
    } else if (star != std::string::npos) {
      g = star + 1;
      p = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

std::optional<std::chrono::milliseconds> parse_delay(std::string_view text) {
  double seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(seconds) ||
      seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(std::llround(seconds * 1000));
}

// The rules collected for one kind of group: ours, or '*'.
struct GroupRules {
  bool found = false;  // a User-agent line named this group
  std::vector<RobotsRules::Rule> rules;
  std::optional<std::chrono::milliseconds> crawl_delay;
};

}  // namespace

RobotsRules RobotsRules::parse(std::string_view body, std::string_view user_agent) {
  const std::string product = lower(trimmed(user_agent.substr(0, user_agent.find('/'))));
  GroupRules ours;
  GroupRules any;
  // The group being read: which of ours/any its User-agent lines named. A rule line after a
  // User-agent line ends the list of agents; the next User-agent line starts a new group.
  bool for_us = false;
  bool for_any = false;
  bool reading_agents = false;

  while (!body.empty()) {
    const std::size_t end = body.find('\n');
    std::string_view line = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view{} : body.substr(end + 1);
    line = trimmed(line.substr(0, line.find('#')));
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string key = lower(trimmed(line.substr(0, colon)));
    const std::string_view value = trimmed(line.substr(colon + 1));

    if (key == "user-agent") {
      if (!reading_agents) for_us = for_any = false;
      reading_agents = true;
      const std::string agent = lower(value);
      if (agent == product) for_us = ours.found = true;
      if (agent == "*") for_any = any.found = true;
      continue;
    }
    if (key != "allow" && key != "disallow" && key != "crawl-delay") continue;
    reading_agents = false;
    for (GroupRules* group : {for_us ? &ours : nullptr, for_any ? &any : nullptr}) {
      if (group == nullptr) continue;
      if (key == "crawl-delay") {
        if (const auto delay = parse_delay(value)) group->crawl_delay = delay;
      } else if (!value.empty()) {  // an empty Disallow allows everything: no rule
        group->rules.push_back({std::string(value), key == "allow"});
      }
    }
  }

  const GroupRules& chosen = ours.found ? ours : any;
  RobotsRules result;
  result.rules_ = chosen.rules;
  result.crawl_delay_ = chosen.crawl_delay;
  return result;
}

bool RobotsRules::allows(std::string_view path) const {
  // The most specific rule (the longest pattern) that matches wins; Allow wins a tie.
  const Rule* winner = nullptr;
  for (const Rule& rule : rules_) {
    if (!matches(rule.pattern, path)) continue;
    if (winner == nullptr || rule.pattern.size() > winner->pattern.size() ||
        (rule.pattern.size() == winner->pattern.size() && rule.allow)) {
      winner = &rule;
    }
  }
  return winner == nullptr || winner->allow;
}

}  // namespace crawler
