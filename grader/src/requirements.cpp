#include "requirements.hpp"

#include <algorithm>
#include <set>

#include "util.hpp"

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

// `Suite.Case` names in a cell; anything outside backticks but commas and spaces is a problem.
std::vector<std::string> test_names(std::string_view cell, std::string& stray) {
  std::vector<std::string> names;
  std::size_t i = 0;
  while (i < cell.size()) {
    if (cell[i] == '`') {
      const auto end = cell.find('`', i + 1);
      if (end == std::string_view::npos) {
        stray = std::string(cell.substr(i));
        return names;
      }
      names.emplace_back(trim(cell.substr(i + 1, end - i - 1)));
      i = end + 1;
    } else {
      if (cell[i] != ',' && cell[i] != ' ' && stray.empty()) stray = std::string(cell.substr(i));
      ++i;
    }
  }
  return names;
}

}  // namespace

RequirementsTable parse_requirements(std::string_view text, const std::string& file) {
  RequirementsTable table;
  const auto lines = split_lines(text);
  const std::vector<std::string> header = {"id", "promise", "source", "tests"};
  std::size_t at = 0;
  while (at < lines.size() && !(is_row(lines[at]) && cells_of(lines[at]) == header)) ++at;
  if (at == lines.size()) {
    table.problems.push_back(file +
                             ": no table with the columns | id | promise | source | tests |");
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
      table.problems.push_back(where(index) + ": a row has 4 cells (id, promise, source, tests), " +
                               "this one has " + std::to_string(cells.size()));
      continue;
    }
    Requirement row;
    row.id = cells[0];
    row.promise = cells[1];
    row.source = cells[2];
    row.line = static_cast<int>(index + 1);
    std::string stray;
    row.tests = test_names(cells[3], stray);
    if (row.id.empty()) table.problems.push_back(where(index) + ": the row has no id");
    if (!row.id.empty() && !ids.insert(row.id).second) {
      table.problems.push_back(where(index) + ": " + row.id + ": the id is used twice");
    }
    if (row.promise.empty())
      table.problems.push_back(where(index) + ": " + row.id + ": no promise");
    if (!stray.empty()) {
      table.problems.push_back(where(index) + ": " + row.id +
                               ": write each test as `Suite.Case`, separated by commas (found \"" +
                               stray + "\")");
    }
    if (row.tests.empty()) {
      table.problems.push_back(where(index) + ": " + row.id +
                               ": names no test: add a test that fails when this promise is "
                               "broken, or reword the promise as a suggestion and drop the row");
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
