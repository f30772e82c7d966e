// The only translation unit that includes toml++ (it is slow to compile).
#include "course/manifest.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

#include "building/submission_check.hpp"

namespace grader {

namespace {

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// Collects problems in one TOML file, each with its line and key.
class Checker {
 public:
  explicit Checker(std::string file) : file_(std::move(file)) {}

  void problem(const toml::node* node, const std::string& key, const std::string& message) {
    std::string where = file_;
    if (node != nullptr && node->source().begin.line > 0) {
      where += ":" + std::to_string(node->source().begin.line);
    }
    problems_.push_back(where + ": " + (key.empty() ? "" : key + ": ") + message);
  }

  // Reports keys of `table` that are not in `allowed`.
  void only_keys(const toml::table& table, const std::string& prefix,
                 std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, value] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      problem(&value, prefix + std::string(key.str()), "unknown key (allowed: " + list + ")");
    }
  }

  std::optional<std::string> string(const toml::table& table, std::string_view key,
                                    const std::string& prefix, bool required) {
    const auto* node = table.get(key);
    if (node == nullptr) {
      if (required) problem(&table, prefix + std::string(key), "missing (a string is required)");
      return std::nullopt;
    }
    if (!node->is_string()) {
      problem(node, prefix + std::string(key), "expected a string, got " + type_name(*node));
      return std::nullopt;
    }
    return node->value<std::string>();
  }

  std::optional<bool> boolean(const toml::table& table, std::string_view key,
                              const std::string& prefix) {
    const auto* node = table.get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_boolean()) {
      problem(node, prefix + std::string(key), "expected true or false, got " + type_name(*node));
      return std::nullopt;
    }
    return node->value<bool>();
  }

  std::optional<double> number(const toml::table& table, std::string_view key,
                               const std::string& prefix) {
    const auto* node = table.get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_number()) {
      problem(node, prefix + std::string(key), "expected a number, got " + type_name(*node));
      return std::nullopt;
    }
    return node->value<double>();
  }

  std::optional<std::vector<std::string>> strings(const toml::table& table, std::string_view key,
                                                  const std::string& prefix, bool required) {
    const auto* node = table.get(key);
    const auto name = prefix + std::string(key);
    if (node == nullptr) {
      if (required) problem(&table, name, "missing (an array of strings is required)");
      return std::nullopt;
    }
    const auto* array = node->as_array();
    if (array == nullptr) {
      problem(node, name, "expected an array of strings, got " + type_name(*node));
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const auto& item = *array->get(i);
      if (!item.is_string()) {
        problem(&item, name + "[" + std::to_string(i) + "]",
                "expected a string, got " + type_name(item));
        continue;
      }
      out.push_back(*item.value<std::string>());
    }
    return out;
  }

  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] bool ok() const { return problems_.empty(); }
  void throw_if_problems() {
    if (!problems_.empty()) throw ManifestError(problems_);
  }

 private:
  std::string file_;
  std::vector<std::string> problems_;
};

toml::table parse_toml(const fs::path& file, const std::string& display) {
  if (!fs::exists(file)) throw ManifestError({display + ": file not found"});
  try {
    return toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw ManifestError({display + ":" + std::to_string(e.source().begin.line) +
                         ": not valid TOML: " + std::string(e.description())});
  }
}

// Defaults that [defaults] may set for every [[tests]] entry.
struct TestDefaults {
  double points = 1.0;
  Category category = Category::correctness;
  double timeout_s = 10.0;
  std::vector<std::string> tags;
};

void check_tags(Checker& check, const toml::table& table, const std::string& key,
                const std::vector<std::string>& tags) {
  for (const auto& tag : tags) {
    if (tag.rfind("sanitizer:", 0) != 0) continue;
    std::vector<std::string> known;
    for (const auto& build : kBuilds) {
      if (!build.sanitizer_tag.empty()) known.emplace_back(build.sanitizer_tag);
    }
    if (std::find(known.begin(), known.end(), tag) == known.end()) {
      check.problem(table.get("tags"), key,
                    "unknown sanitizer tag '" + tag + "' (use " + join(known, " or ") + ")");
    }
  }
}

void read_common_test_fields(Checker& check, const toml::table& table, const std::string& prefix,
                             TestDefaults& into) {
  if (auto points = check.number(table, "points", prefix)) {
    if (*points < 0) {
      check.problem(table.get("points"), prefix + "points", "must not be negative");
    } else {
      into.points = *points;
    }
  }
  if (auto timeout = check.number(table, "timeout", prefix)) {
    if (*timeout <= 0) {
      check.problem(table.get("timeout"), prefix + "timeout", "must be more than 0 seconds");
    } else {
      into.timeout_s = *timeout;
    }
  }
  if (auto category = check.string(table, "category", prefix, false)) {
    if (auto c = category_from_string(*category)) {
      into.category = *c;
    } else {
      check.problem(table.get("category"), prefix + "category",
                    "unknown category '" + *category +
                        "' (correctness, concurrency, timing, robustness or performance)");
    }
  }
  if (auto tags = check.strings(table, "tags", prefix, false)) {
    check_tags(check, table, prefix + "tags", *tags);
    into.tags = *tags;
  }
}

bool valid_test_name(std::string_view name) {
  // "Suite.Case" (GoogleTest full name); no characters with a meaning in --gtest_filter.
  const auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return false;
  return name.find_first_of(" \t*?:") == std::string_view::npos && name.front() != '-';
}

TestDefaults read_defaults(Checker& check, const toml::table& doc) {
  TestDefaults defaults;
  const auto* node = doc.get("defaults");
  if (node == nullptr) return defaults;
  const auto* table = node->as_table();
  if (table == nullptr) {
    check.problem(node, "defaults", "expected a table, got " + type_name(*node));
    return defaults;
  }
  check.only_keys(*table, "defaults.", {"points", "category", "timeout", "tags"});
  read_common_test_fields(check, *table, "defaults.", defaults);
  return defaults;
}

std::vector<TestSpec> read_tests(Checker& check, const toml::table& doc,
                                 const TestDefaults& defaults) {
  std::vector<TestSpec> tests;
  const auto* node = doc.get("tests");
  if (node == nullptr) {
    check.problem(&doc, "tests", "missing (at least one [[tests]] entry is required)");
    return tests;
  }
  const auto* array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    check.problem(node, "tests", "expected [[tests]] tables, got " + type_name(*node));
    return tests;
  }
  if (array->empty()) check.problem(node, "tests", "at least one [[tests]] entry is required");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const auto& table = *array->get(i)->as_table();
    const auto prefix = "tests[" + std::to_string(i) + "].";
    check.only_keys(table, prefix,
                    {"name", "points", "category", "timeout", "tags", "description"});
    TestDefaults fields = defaults;
    read_common_test_fields(check, table, prefix, fields);
    TestSpec spec;
    spec.name = check.string(table, "name", prefix, true).value_or("");
    spec.points = fields.points;
    spec.category = fields.category;
    spec.timeout_s = fields.timeout_s;
    spec.tags = fields.tags;
    spec.description = check.string(table, "description", prefix, false).value_or("");
    if (spec.name.empty()) continue;
    if (!valid_test_name(spec.name)) {
      check.problem(table.get("name"), prefix + "name",
                    "'" + spec.name + "' is not a GoogleTest name like \"Suite.Case\"");
    }
    if (spec.has_tag(kTagOracle) && spec.points != 0) {
      check.problem(table.get("points"), prefix + "points",
                    "a test tagged oracle checks the course's client against a real peer, so it "
                    "is worth 0 points");
    }
    if (!seen.insert(spec.name).second) {
      check.problem(table.get("name"), prefix + "name", "duplicate test name '" + spec.name + "'");
    }
    tests.push_back(std::move(spec));
  }
  return tests;
}

bool safe_relative_path(const std::string& file) {
  const fs::path p(file);
  if (p.empty() || p.is_absolute()) return false;
  return std::none_of(p.begin(), p.end(), [](const fs::path& part) { return part == ".."; });
}

std::vector<std::string> read_student_files(Checker& check, const toml::table& doc,
                                            const fs::path& exercise_dir) {
  auto files = check.strings(doc, "student_files", "", true).value_or(std::vector<std::string>{});
  const auto* node = doc.get("student_files");
  if (node != nullptr && node->is_array() && files.empty()) {
    check.problem(node, "student_files", "at least one student file is required");
  }
  std::set<std::string> seen;
  for (const auto& file : files) {
    if (!safe_relative_path(file)) {
      check.problem(node, "student_files",
                    "'" + file + "' must be a path inside the exercise directory");
    } else if (!fs::is_regular_file(exercise_dir / file)) {
      check.problem(node, "student_files",
                    "'" + file + "' does not exist in " + exercise_dir.filename().string() + "/");
    }
    if (!seen.insert(file).second) {
      check.problem(node, "student_files", "'" + file + "' is listed twice");
    }
  }
  return files;
}

int number_prefix(std::string_view id) {
  int value = -1;
  const auto dash = id.find('-');
  const auto digits = id.substr(0, dash);
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return -1;
  return value;
}

}  // namespace

ExerciseManifest load_manifest(const fs::path& exercise_dir, const fs::path& root) {
  const auto file = exercise_dir / "exercise.toml";
  Checker check(display_path(file, root));
  const auto doc = parse_toml(file, check.file());
  check.only_keys(doc, "",
                  {"id", "title", "order", "student_files", "starter_files", "allowed_calls",
                   "processes", "hints", "defaults", "tests"});

  ExerciseManifest manifest;
  manifest.dir = exercise_dir;
  manifest.id = check.string(doc, "id", "", true).value_or("");
  const auto dir_name = exercise_dir.filename().string();
  if (!manifest.id.empty() && manifest.id != dir_name) {
    check.problem(doc.get("id"), "id",
                  "'" + manifest.id + "' does not match the directory name '" + dir_name + "'");
  }
  manifest.title = check.string(doc, "title", "", true).value_or("");
  manifest.order = number_prefix(dir_name);
  if (const auto* order = doc.get("order")) {
    if (order->is_integer()) {
      manifest.order = static_cast<int>(*order->value<std::int64_t>());
    } else {
      check.problem(order, "order", "expected an integer, got " + type_name(*order));
    }
  }
  manifest.student_files = read_student_files(check, doc, exercise_dir);
  manifest.starter_files =
      check.strings(doc, "starter_files", "", false).value_or(std::vector<std::string>{});
  for (const auto& file : manifest.starter_files) {
    if (std::find(manifest.student_files.begin(), manifest.student_files.end(), file) ==
        manifest.student_files.end()) {
      check.problem(doc.get("starter_files"), "starter_files",
                    "'" + file + "' is not one of the student_files");
    }
  }
  manifest.hints = check.strings(doc, "hints", "", false).value_or(std::vector<std::string>{});
  manifest.allowed_calls =
      check.strings(doc, "allowed_calls", "", false).value_or(std::vector<std::string>{});
  for (const auto& call : manifest.allowed_calls) {
    const auto& refused = refused_calls();
    if (std::find(refused.begin(), refused.end(), call) == refused.end()) {
      check.problem(doc.get("allowed_calls"), "allowed_calls",
                    "'" + call + "' is not a call the link check refuses (see grader/README.md)");
    }
  }
  manifest.processes = check.string(doc, "processes", "", false).value_or("threads");
  if (manifest.processes != "threads" && manifest.processes != "fork" &&
      manifest.processes != "exec") {
    check.problem(doc.get("processes"), "processes",
                  "'" + manifest.processes + "' is not one of threads, fork, exec");
  }
  const auto defaults = read_defaults(check, doc);
  manifest.tests = read_tests(check, doc, defaults);
  check.throw_if_problems();
  return manifest;
}

MutantSpec load_mutant(const fs::path& mutant_dir, const fs::path& root) {
  const auto file = mutant_dir / "mutant.toml";
  Checker check(display_path(file, root));
  const auto doc = parse_toml(file, check.file());
  check.only_keys(doc, "", {"description", "must_fail", "sanitizer_runs"});
  MutantSpec mutant;
  mutant.name = mutant_dir.filename().string();
  mutant.description = check.string(doc, "description", "", true).value_or("");
  mutant.must_fail = check.strings(doc, "must_fail", "", true).value_or(std::vector<std::string>{});
  if (const auto* node = doc.get("must_fail");
      node != nullptr && node->is_array() && mutant.must_fail.empty()) {
    check.problem(node, "must_fail", "name at least one test that must catch this mutant");
  }
  mutant.sanitizer_runs = check.boolean(doc, "sanitizer_runs", "").value_or(true);
  check.throw_if_problems();
  return mutant;
}

std::vector<fs::path> exercise_dirs(const fs::path& root) {
  std::vector<fs::path> dirs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root / "exercises", ec)) {
    const auto name = entry.path().filename().string();
    if (entry.is_directory(ec) && number_prefix(name) >= 0 && name.find('-') != std::string::npos &&
        fs::exists(entry.path() / "exercise.toml")) {
      dirs.push_back(entry.path());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::vector<ExerciseManifest> load_all_manifests(const fs::path& root) {
  std::vector<ExerciseManifest> manifests;
  std::vector<std::string> problems;
  for (const auto& dir : exercise_dirs(root)) {
    try {
      manifests.push_back(load_manifest(dir, root));
    } catch (const ManifestError& e) {
      problems.insert(problems.end(), e.problems().begin(), e.problems().end());
    }
  }
  if (!problems.empty()) throw ManifestError(problems);
  std::stable_sort(manifests.begin(), manifests.end(), [](const auto& a, const auto& b) {
    return std::tie(a.order, a.id) < std::tie(b.order, b.id);
  });
  return manifests;
}

bool is_mutant_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "mutant.patch", ec) || fs::is_directory(dir / "src", ec);
}

std::vector<fs::path> mutant_dirs(const fs::path& root, std::string_view exercise_id) {
  std::vector<fs::path> dirs;
  std::error_code ec;
  const auto base = root / "solutions" / std::string(exercise_id) / "mutants";
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    if (entry.is_directory(ec) && is_mutant_dir(entry.path())) dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

LoadedMutants load_mutants(const fs::path& root, const ExerciseManifest& manifest) {
  LoadedMutants loaded;
  for (const auto& dir : mutant_dirs(root, manifest.id)) {
    try {
      loaded.mutants.push_back(load_mutant(dir, root));
    } catch (const ManifestError& e) {
      loaded.problems.insert(loaded.problems.end(), e.problems().begin(), e.problems().end());
    }
  }
  const auto unknown = check_mutants(manifest, loaded.mutants, root);
  loaded.problems.insert(loaded.problems.end(), unknown.begin(), unknown.end());
  return loaded;
}

namespace {
fs::path going_further_dir(const fs::path& root, std::string_view exercise_id) {
  return root / "solutions" / std::string(exercise_id) / "going-further";
}
}  // namespace

std::vector<std::string> going_further_names(const fs::path& root, std::string_view exercise_id) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(going_further_dir(root, exercise_id), ec)) {
    if (entry.is_directory(ec)) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> check_going_further(const fs::path& root, std::string_view exercise_id) {
  std::vector<std::string> problems;
  for (const auto& name : going_further_names(root, exercise_id)) {
    const auto dir = going_further_dir(root, exercise_id) / name;
    const auto shown = "solutions/" + std::string(exercise_id) + "/going-further/" + name;
    std::error_code ec;
    if (!fs::is_regular_file(dir / "variant.patch", ec) && !fs::is_directory(dir / "src", ec)) {
      problems.push_back(shown + ": has neither a variant.patch nor a src/ directory");
    }
    if (!fs::is_regular_file(dir / "README.md", ec)) {
      problems.push_back(shown + ": has no README.md saying what it changes and why");
    }
  }
  return problems;
}

std::vector<std::string> check_mutants(const ExerciseManifest& manifest,
                                       const std::vector<MutantSpec>& mutants,
                                       const fs::path& root) {
  std::vector<std::string> problems;
  for (const auto& mutant : mutants) {
    const auto file = root / "solutions" / manifest.id / "mutants" / mutant.name / "mutant.toml";
    for (const auto& test : mutant.must_fail) {
      const bool known = std::any_of(manifest.tests.begin(), manifest.tests.end(),
                                     [&](const TestSpec& t) { return t.name == test; });
      if (!known) {
        problems.push_back(display_path(file, root) + ": must_fail: '" + test +
                           "' is not a test of " + manifest.id + "'s manifest");
      }
    }
  }
  return problems;
}

BinaryCheck check_against_binary(const ExerciseManifest& manifest,
                                 const std::vector<std::string>& binary_tests) {
  BinaryCheck result;
  const std::set<std::string> in_binary(binary_tests.begin(), binary_tests.end());
  std::set<std::string> in_manifest;
  for (const auto& test : manifest.tests) {
    in_manifest.insert(test.name);
    if (!in_binary.contains(test.name)) result.missing_in_binary.push_back(test.name);
  }
  for (const auto& name : binary_tests) {
    if (!in_manifest.contains(name)) result.missing_in_manifest.push_back(name);
  }
  return result;
}

bool exercise_matches(std::string_view id, std::string_view query) {
  if (query.empty()) return false;
  if (id == query) return true;
  const auto dash = id.find('-');
  if (dash == std::string_view::npos) return false;
  if (id.substr(dash + 1) == query) return true;
  int wanted = -1;
  const auto [ptr, ec] = std::from_chars(query.data(), query.data() + query.size(), wanted);
  return ec == std::errc() && ptr == query.data() + query.size() && wanted == number_prefix(id);
}

std::vector<ExerciseManifest> select_exercises(const std::vector<ExerciseManifest>& all,
                                               const std::vector<std::string>& queries) {
  if (queries.empty()) return all;
  std::vector<ExerciseManifest> selected;
  for (const auto& query : queries) {
    std::vector<const ExerciseManifest*> matches;
    for (const auto& m : all) {
      if (exercise_matches(m.id, query)) matches.push_back(&m);
    }
    if (matches.empty()) {
      std::string known;
      for (const auto& m : all) known += "\n  " + m.id;
      throw GraderError("unknown exercise '" + query +
                        "'; the exercises are:" + (known.empty() ? std::string(" (none)") : known));
    }
    if (matches.size() > 1) {
      throw GraderError("'" + query + "' names more than one exercise: " + matches[0]->id + ", " +
                        matches[1]->id + "; use the full name");
    }
    const bool already = std::any_of(selected.begin(), selected.end(),
                                     [&](const auto& m) { return m.id == matches[0]->id; });
    if (!already) selected.push_back(*matches[0]);
  }
  return selected;
}

// `--test NAME...`: only the exercises that have one of these tests. A name that no selected
// exercise has is an error, so a typo does not grade nothing and say all is well.
std::vector<ExerciseManifest> select_tests(const std::vector<ExerciseManifest>& manifests,
                                           const std::vector<std::string>& tests) {
  if (tests.empty()) return manifests;
  std::vector<ExerciseManifest> kept;
  std::vector<std::string> unknown = tests;
  for (const auto& manifest : manifests) {
    bool has_one = false;
    for (const auto& test : manifest.tests) {
      if (std::find(tests.begin(), tests.end(), test.name) == tests.end()) continue;
      has_one = true;
      std::erase(unknown, test.name);
    }
    if (has_one) kept.push_back(manifest);
  }
  if (!unknown.empty()) {
    throw GraderError("--test: no test named " + join(unknown, ", ") +
                      " in the exercises graded; the report of `grader/grader grade NN` gives "
                      "each test's full name");
  }
  return kept;
}

}  // namespace grader
