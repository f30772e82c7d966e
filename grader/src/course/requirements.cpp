#include "course/requirements.hpp"

#include <algorithm>
#include <set>

#include "course/util.hpp"

namespace grader {

namespace fs = std::filesystem;

namespace {

// The cells of a Markdown table row "| a | b |", trimmed; "\|" stays inside a cell.
std::vector<std::string> cells_of(std::string_view line) {
  std::vector<std::string> cells;
  std::string cell;
  const std::string_view body = line;
  std::size_t i = body.find('|');
  if (i == std::string_view::npos) return cells;
  for (++i; i < body.size(); ++i) {
    if (body[i] == '\\' && i + 1 < body.size() && body[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (body[i] == '|') {
      cells.push_back(trim(cell));
      cell.clear();
    } else {
      cell += body[i];
    }
  }
  if (!trim(cell).empty()) cells.push_back(trim(cell));
  return cells;
}

bool is_row(std::string_view line) { return trim(line).starts_with('|'); }

bool is_separator(const std::vector<std::string>& cells) {
  return !cells.empty() && std::all_of(cells.begin(), cells.end(), [](const std::string& c) {
    return !c.empty() && c.find_first_not_of("-: ") == std::string::npos;
  });
}

// `Suite.Case` names in a group; anything outside backticks but commas and spaces is a problem.
std::vector<std::string> test_names(std::string_view group, std::string& stray) {
  std::vector<std::string> names;
  std::size_t i = 0;
  while (i < group.size()) {
    if (group[i] == '`') {
      const auto end = group.find('`', i + 1);
      if (end == std::string_view::npos) {
        stray = std::string(group.substr(i));
        return names;
      }
      names.emplace_back(trim(group.substr(i + 1, end - i - 1)));
      i = end + 1;
    } else {
      if (group[i] != ',' && group[i] != ' ' && stray.empty()) stray = std::string(group.substr(i));
      ++i;
    }
  }
  return names;
}

// The tests cell split at ';' (outside backticks) into groups "label: `A.B`, `A.C`"; a group
// without a label has label "".
std::vector<Probe> probes_of(std::string_view cell, std::string& stray) {
  std::vector<std::string_view> groups;
  bool quoted = false;
  int parentheses = 0;  // a reason "missing (why)" may hold a ';'
  std::size_t from = 0;
  for (std::size_t i = 0; i < cell.size(); ++i) {
    if (cell[i] == '`') quoted = !quoted;
    if (!quoted && cell[i] == '(') ++parentheses;
    if (!quoted && cell[i] == ')' && parentheses > 0) --parentheses;
    if (cell[i] == ';' && !quoted && parentheses == 0) {
      groups.push_back(cell.substr(from, i - from));
      from = i + 1;
    }
  }
  groups.push_back(cell.substr(from));
  std::vector<Probe> probes;
  for (const auto group : groups) {
    Probe probe;
    std::string_view rest = group;
    const auto tick = group.find('`');
    const auto colon = group.substr(0, tick).find(':');
    if (colon != std::string_view::npos) {
      probe.label = trim(group.substr(0, colon));
      rest = group.substr(colon + 1);
    }
    // "label: missing (why)": a probe the kind needs and the suite does not have yet. Written
    // down, so that the gap is a warning an instructor sees, not a probe nobody noticed.
    if (const auto text = trim(rest); !probe.label.empty() && text.starts_with("missing")) {
      probe.missing = std::string(trim(text.substr(7)));
      if (probe.missing.size() >= 2 && probe.missing.front() == '(' &&
          probe.missing.back() == ')') {
        probe.missing = probe.missing.substr(1, probe.missing.size() - 2);
      }
      if (probe.missing.empty()) probe.missing = "no reason given";
      probes.push_back(std::move(probe));
      continue;
    }
    probe.tests = test_names(rest, stray);
    if (probe.label.empty() && probe.tests.empty() && trim(group).empty() && groups.size() == 1) {
      continue;  // an empty cell: reported as "names no test"
    }
    probes.push_back(std::move(probe));
  }
  return probes;
}

const KindRule* rule_of(std::string_view kind) {
  for (const auto& rule : kind_rules()) {
    if (rule.kind == kind) return &rule;
  }
  return nullptr;
}

std::string kind_names() {
  std::vector<std::string> names;
  for (const auto& rule : kind_rules()) names.emplace_back(rule.kind);
  return join(names, ", ");
}

// The problems of a row against its kind's rule.
void check_kind(const Requirement& row, const std::string& where,
                std::vector<std::string>& problems, std::vector<std::string>& warnings) {
  const auto* rule = rule_of(row.kind);
  if (rule == nullptr) {
    problems.push_back(where + ": " + row.id + ": kind \"" + row.kind +
                       "\" is not one of: " + kind_names());
    return;
  }
  std::vector<std::string> missing;
  for (const auto label : rule->required_labels) {
    const bool named = std::any_of(row.probes.begin(), row.probes.end(), [&](const Probe& p) {
      return p.label == label && (!p.tests.empty() || !p.missing.empty());
    });
    if (!named) missing.emplace_back(label);
  }
  for (const auto& probe : row.probes) {
    if (!probe.missing.empty()) {
      warnings.push_back(where + ": " + row.id + ": no " + probe.label + " probe yet (" +
                         probe.missing + ")");
    }
  }
  if (!missing.empty()) {
    problems.push_back(where + ": " + row.id + ": a " + std::string(rule->kind) +
                       " row names its probes \"" + join(missing, "\", \"") +
                       "\" (write \"label: `Suite.Case`; ...\"): " + std::string(rule->advice));
  }
  const auto labelled = std::count_if(row.probes.begin(), row.probes.end(), [](const Probe& p) {
    return !p.label.empty() && (!p.tests.empty() || !p.missing.empty());
  });
  if (static_cast<std::size_t>(labelled) < rule->min_labels) {
    problems.push_back(where + ": " + row.id + ": a " + std::string(rule->kind) + " row names " +
                       std::to_string(rule->min_labels) + " or more labelled probes, it has " +
                       std::to_string(labelled) + ": " + std::string(rule->advice));
  }
  for (const auto& probe : row.probes) {
    if (!probe.label.empty() && probe.tests.empty() && probe.missing.empty()) {
      problems.push_back(where + ": " + row.id + ": probe \"" + probe.label + "\" names no test");
    }
  }
}

}  // namespace

const std::vector<KindRule>& kind_rules() {
  static const std::vector<KindRule> rules = {
      {"behaviour", "what a call returns or does for the inputs the row names", {}, 0, ""},
      {"bound",
       "a limit: at most, more than, within, a window of N",
       {"at", "below", "above"},
       0,
       "probe the bound at its value, one step below and one step above; a test that hits it "
       "from far away passes `>` written as `>=` and a window one item wider"},
      {"ceiling",
       "an upper limit that a correct run stays under by design, not an edge it must reach: at "
       "most N more calls after a stop",
       {"full"},
       0,
       "name the test that fills every place the limit counts (each worker holds an item, each "
       "queue is full) before the limit starts to count, so that a run which drains its queues or "
       "keeps reading goes past it; an exact edge is a bound"},
      {"duration",
       "a duration, a deadline or a factor: how long, counted from when",
       {"origin", "non-default"},
       0,
       "one probe whose clock (a fake one, or gates) separates the instants the duration could "
       "count from (the return or the creation, the previous delay or the first), and one that "
       "sets a value other than the default"},
      {"path",
       "a rule that holds on every path that reaches it (every call, method, version, framing)",
       {},
       2,
       "one label per path the promise covers, each naming the test that takes that path"},
      {"wait",
       "every wait ends on a stop (or a deadline)",
       {},
       1,
       "one label per wait of the reference (grep its waits: condition variables, semaphores, "
       "sleeps, joins, reads, timers), each naming the test that requests the stop during it"},
      {"order",
       "an order: of results, lines, or wake-ups (probed with three or more waiters)",
       {},
       0,
       ""},
      {"lock", "work that must run without holding a lock (or must hold one)", {}, 0, ""},
      {"freshness", "state reported after the condition that caused it is gone", {}, 0, ""},
      {"arithmetic",
       "sums and conversions at scale (past 2^31) and in order (clamp, then convert)",
       {},
       0,
       ""},
      {"location", "where a file lives, checked as nowhere else", {}, 0, ""},
      {"error", "the error a bad input or a failure gives, and that it changes nothing", {}, 0, ""},
      {"concurrency",
       "lifetimes that overlap, how many are in flight, what runs in parallel",
       {},
       0,
       ""},
      {"figure",
       "a figure a result reports (a count, a time, a size), against an oracle",
       {},
       0,
       ""},
      {"resource", "memory, descriptors, threads or processes kept within a bound", {}, 0, ""},
      {"race", "no data race or memory error, under the sanitizers", {}, 0, ""},
  };
  return rules;
}

RequirementsTable parse_requirements(std::string_view text, const std::string& file) {
  RequirementsTable table;
  const auto lines = split_lines(text);
  const std::vector<std::string> header = {"id", "kind", "promise", "source", "tests"};
  std::size_t at = 0;
  while (at < lines.size() && !(is_row(lines[at]) && cells_of(lines[at]) == header)) ++at;
  if (at == lines.size()) {
    table.problems.push_back(
        file + ": no table with the columns | id | kind | promise | source | tests |");
    return table;
  }
  const auto where = [&](std::size_t index) { return file + ":" + std::to_string(index + 1); };
  if (at + 1 >= lines.size() || !is_separator(cells_of(lines[at + 1]))) {
    table.problems.push_back(where(at + 1) + ": the header row must be followed by |---|---|...");
    return table;
  }
  std::set<std::string> ids;
  for (std::size_t index = at + 2; index < lines.size() && is_row(lines[index]); ++index) {
    const auto cells = cells_of(lines[index]);
    if (cells.size() != header.size()) {
      table.problems.push_back(where(index) +
                               ": a row has 5 cells (id, kind, promise, source, tests), " +
                               "this one has " + std::to_string(cells.size()));
      continue;
    }
    Requirement row;
    row.id = cells[0];
    row.kind = cells[1];
    row.promise = cells[2];
    row.source = cells[3];
    row.line = static_cast<int>(index + 1);
    std::string stray;
    row.probes = probes_of(cells[4], stray);
    for (const auto& probe : row.probes) {
      row.tests.insert(row.tests.end(), probe.tests.begin(), probe.tests.end());
    }
    if (row.id.empty()) table.problems.push_back(where(index) + ": the row has no id");
    if (!row.id.empty() && !ids.insert(row.id).second) {
      table.problems.push_back(where(index) + ": " + row.id + ": the id is used twice");
    }
    if (row.promise.empty())
      table.problems.push_back(where(index) + ": " + row.id + ": no promise");
    if (!stray.empty()) {
      table.problems.push_back(where(index) + ": " + row.id +
                               ": write each test as `Suite.Case`, separated by commas, in groups "
                               "\"label: `A.B`; ...\" " +
                               "(found \"" + stray + "\")");
    }
    const bool only_missing =
        !row.probes.empty() && std::all_of(row.probes.begin(), row.probes.end(),
                                           [](const Probe& p) { return !p.missing.empty(); });
    if (row.tests.empty() || only_missing) {
      table.problems.push_back(where(index) + ": " + row.id +
                               ": names no test: add a test that fails when this promise is "
                               "broken, or reword the promise as a suggestion and drop the row");
    } else {
      check_kind(row, where(index), table.problems, table.warnings);
    }
    table.rows.push_back(std::move(row));
  }
  if (table.rows.empty()) table.problems.push_back(where(at) + ": the table has no rows");
  return table;
}

fs::path requirements_path(const fs::path& root, std::string_view id) {
  return root / "solutions" / std::string(id) / "REQUIREMENTS.md";
}

RequirementsTable check_requirements(const ExerciseManifest& manifest, const fs::path& root) {
  const auto path = requirements_path(root, manifest.id);
  const auto file = display_path(path, root);
  const auto text = try_read_file(path);
  if (!text) {
    RequirementsTable missing;
    missing.problems.push_back(file +
                               ": missing: list what the statement and header promise, each "
                               "with its tests");
    return missing;
  }
  auto table = parse_requirements(*text, file);
  std::set<std::string> declared;
  for (const auto& test : manifest.tests) declared.insert(test.name);
  for (const auto& row : table.rows) {
    for (const auto& test : row.tests) {
      if (!declared.contains(test)) {
        table.problems.push_back(file + ":" + std::to_string(row.line) + ": " + row.id + ": " +
                                 test + " is not a test of exercises/" + manifest.id +
                                 "/exercise.toml");
      }
    }
  }
  return table;
}

std::vector<std::string> tests_outside_requirements(const ExerciseManifest& manifest,
                                                    const RequirementsTable& table) {
  std::set<std::string> named;
  for (const auto& row : table.rows) named.insert(row.tests.begin(), row.tests.end());
  std::vector<std::string> outside;
  for (const auto& test : manifest.tests) {
    if (test.points > 0 && !named.contains(test.name)) outside.push_back(test.name);
  }
  return outside;
}

}  // namespace grader
