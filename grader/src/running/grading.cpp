#include "running/grading.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <set>
#include <thread>

#include "building/build.hpp"
#include "building/staging.hpp"
#include "building/submission_check.hpp"
#include "running/job_pool.hpp"

namespace grader {

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  std::size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

std::string safe_dir_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  while (!out.empty() && (out.front() == '_' || out.front() == '.')) out.erase(out.begin());
  return out.empty() ? "submission" : out;
}

constexpr std::string_view kMutantPrefix = "mutant-";
constexpr std::string_view kGoingFurtherPrefix = "going-further-";

bool is_exclusive(const TestSpec& test) {
  return test.has_tag(kTagExclusive) || test.category == Category::timing ||
         test.category == Category::performance;
}

RunResult not_run(BuildConfig config, const std::string& reason) {
  RunResult run;
  run.config = config;
  run.attempts.push_back(Attempt{Outcome::not_run, 0.0, reason});
  return run;
}

std::string build_label(const std::vector<PreparedImpl>& prepared) {
  std::set<std::string> ids;
  for (const auto& p : prepared) ids.insert(p.request.manifest.id);
  if (ids.size() == 1) return *ids.begin();
  return std::to_string(ids.size()) + " exercises";
}

std::string refusal(const std::vector<std::string>& problems) {
  return "The course refuses this code (see \"Threat model\" in grader/README.md):\n  " +
         join(problems, "\n  ");
}

// The course's limits, with what the exercise's tests may start (its manifest's `processes`).
SandboxPolicy policy_for(const SandboxPolicy& course, const ExerciseManifest& manifest) {
  SandboxPolicy policy = course;
  policy.syscalls.fork = manifest.processes != "threads";
  policy.syscalls.exec = manifest.processes == "exec";
  return policy;
}

// Stages a submission where the build contract says; the staged paths in compiler
// errors are rewritten to the submission's own paths.
void stage_into(PreparedImpl& impl, BuildConfig config) {
  const auto& request = impl.request;
  if (request.impl.kind != Impl::Kind::submission || !request.impl.submission) return;
  const auto& targets = impl.targets.at(config);
  auto staged = stage_submission(*request.impl.submission, request.manifest, targets.staging_dir,
                                 targets.header_only, request.single_exercise);
  if (config == BuildConfig::normal) impl.warnings = staged.warnings;
  if (!staged.errors.empty()) impl.build_errors[config] = refusal(staged.errors);
  for (const auto& file : staged.files) {
    impl.path_rewrites.emplace_back(file.staged.string(), file.source.string());
  }
}

// The student's own files in the course tree: checked before they are compiled. The reference's
// too, which proves that the checks accept correct code.
void check_student_sources(const GradeContext& context, PreparedImpl& impl) {
  const auto& manifest = impl.request.manifest;
  const auto kind = impl.request.impl.kind;
  if (kind != Impl::Kind::student && kind != Impl::Kind::reference) return;
  const auto base = context.root / (kind == Impl::Kind::student ? "exercises" : "solutions");
  std::vector<SourceFile> files;
  for (const auto& file : manifest.student_files) {
    const auto path = base / manifest.id / file;
    files.push_back({path, base, display_path(path, context.root)});
  }
  const bool header_only = impl.targets.at(BuildConfig::normal).header_only;
  const auto problems = check_sources(files, header_only, manifest.allowed_calls);
  if (!problems.empty()) impl.build_errors[BuildConfig::normal] = refusal(problems);
}

std::string rewrite_paths(std::string text, const PreparedImpl& impl) {
  for (const auto& [from, to] : impl.path_rewrites) text = replace_all(std::move(text), from, to);
  return text;
}

// The objects compiled from the student's files (the reference's too, which proves the checks
// accept correct code): the link check of submission_check.hpp, on every build whose tests run,
// since code can be compiled for one build only (#if __SANITIZE_THREAD__).
void check_student_objects(const GradeContext& context, PreparedImpl& impl, BuildConfig config) {
  const auto& manifest = impl.request.manifest;
  const auto kind = impl.request.impl.kind;
  if (!context.link_check || kind == Impl::Kind::mutant) return;
  const auto found = impl.targets.find(config);
  if (found == impl.targets.end()) return;
  if (found->second.header_only) {
    // Its header is compiled into the tests' objects: no symbol of theirs may interpose either.
    const auto problems = check_header_only_interposition(
        found->second.tests_target, join(manifest.student_files, ", "), found->second.link_map,
        build_dir(context.root, config));
    if (!problems.empty()) impl.build_errors[config] = refusal(problems);
    return;
  }
  if (found->second.archive.empty()) return;
  const auto& archive = found->second.archive;
  std::vector<ObjectFile> objects;
  for (const auto& file : manifest.student_files) {
    const fs::path path(file);
    if (path.extension() != ".cpp") continue;
    // A submission's files are named as the student knows them, not by their staged copies.
    const auto shown =
        kind == Impl::Kind::submission
            ? rewrite_paths(
                  (build_dir(context.root, config) / "submission" / manifest.id / file).string(),
                  impl)
            : display_path(manifest.dir / file, context.root);
    objects.push_back({path.filename().string() + ".o", shown});
  }
  auto problems =
      check_objects(archive, objects, manifest.allowed_calls, config != BuildConfig::normal);
  const auto interposed = check_interposition(archive, objects, found->second.link_map,
                                              build_dir(context.root, config));
  problems.insert(problems.end(), interposed.begin(), interposed.end());
  if (!problems.empty()) impl.build_errors[config] = refusal(problems);
}

// Messages about a submission name its own files, not their staged copies.
RunResult with_submission_paths(RunResult run, const PreparedImpl& impl) {
  if (impl.path_rewrites.empty()) return run;
  for (auto& attempt : run.attempts) attempt.reason = rewrite_paths(attempt.reason, impl);
  run.output = rewrite_paths(run.output, impl);
  return run;
}

// Lists the tests of the binary of the first build the implementation needs (the normal build,
// unless its plan runs in sanitizer builds only).
void list_binary_tests(const GradeContext& context, PreparedImpl& impl) {
  const auto& request = impl.request;
  const auto configs = request.plan.builds();
  const auto config = configs.empty() ? BuildConfig::normal : configs.front();
  if (impl.build_errors.contains(BuildConfig::normal) || impl.build_errors.contains(config)) return;
  const auto binary = impl.targets.at(config).tests_binary;
  auto listing =
      list_tests(binary, context.root, policy_for(context.policy, request.manifest), config);
  impl.binary_tests = std::move(listing.names);
  impl.listing_error = std::move(listing.error);
  if (impl.listing_error.empty()) {
    impl.check = check_against_binary(request.manifest, impl.binary_tests);
  } else {
    // The listing runs the code's static initialisers, in the same sandbox as a test: when it
    // fails, that exercise scores 0 with the reason, and the others are graded.
    impl.build_errors[BuildConfig::normal] =
        "The test program could not list its tests (" + impl.listing_error +
        "). Code that runs before main(), such as the initialiser of a global variable, must "
        "not end the program or use up its limits.";
  }
}

}  // namespace

Impl Impl::of_submission(const fs::path& dir, std::string shown) {
  Impl impl;
  impl.kind = Kind::submission;
  impl.submission = dir;
  impl.shown = std::move(shown);
  return impl;
}

std::optional<Impl> Impl::named(std::string_view text) {
  Impl impl;
  if (text == "exercises") {
    impl.kind = Kind::student;
  } else if (text == "solutions") {
    impl.kind = Kind::reference;
  } else if (text.starts_with(kMutantPrefix) && text.size() > kMutantPrefix.size()) {
    impl.kind = Kind::mutant;
    impl.name = text.substr(kMutantPrefix.size());
  } else if (text.starts_with(kGoingFurtherPrefix) && text.size() > kGoingFurtherPrefix.size()) {
    impl.kind = Kind::going_further;
    impl.name = text.substr(kGoingFurtherPrefix.size());
  } else {
    return std::nullopt;
  }
  return impl;
}

Impl Impl::parse(std::string_view text) {
  if (auto named_impl = named(text)) return *named_impl;
  std::error_code ec;
  const fs::path dir(text);
  if (!fs::is_directory(dir, ec)) {
    throw GraderError("--impl: '" + std::string(text) +
                      "' is neither exercises, solutions, mutant-<name>, going-further-<name> "
                      "nor a directory");
  }
  const auto canonical = fs::weakly_canonical(fs::absolute(dir));
  return of_submission(canonical, canonical.string());
}

std::string Impl::target() const {
  switch (kind) {
    case Kind::student:
      return "exercises";
    case Kind::reference:
      return "solutions";
    case Kind::going_further:
      return std::string(kGoingFurtherPrefix) + name;
    case Kind::mutant:
      return std::string(kMutantPrefix) + name;
    case Kind::submission:
      return "submission";
  }
  return "exercises";
}

namespace {

// Makes every build the implementations' plans need and they do not have yet: one build call per
// configuration, in build order, for every implementation that needs it.
void build_planned(const GradeContext& context, const std::vector<PreparedImpl*>& impls,
                   const std::string& label,
                   const std::vector<BuildConfig>& configs = test_builds()) {
  Builder builder(context.root, *context.progress);
  for (const auto config : configs) {
    std::vector<PreparedImpl*> users;
    for (auto* p : impls) {
      const auto needed = p->request.plan.builds();
      const bool wanted = std::find(needed.begin(), needed.end(), config) != needed.end();
      const bool made = std::find(p->built.begin(), p->built.end(), config) != p->built.end();
      // Code that does not compile normally would only fail again, slower, under a sanitizer.
      if (wanted && !made && !p->build_errors.contains(BuildConfig::normal)) users.push_back(p);
    }
    if (users.empty()) continue;
    const auto contract = builder.contract(config);
    std::vector<std::string> targets;
    std::map<std::string, std::vector<std::string>> markers;
    for (auto* p : users) {
      p->built.push_back(config);
      const auto& id = p->request.manifest.id;
      const auto must_fail_key = p->request.impl.target() + ":must-fail";
      const auto& own = p->request.must_fail_only && contract.has(id, must_fail_key)
                            ? contract.of(id, must_fail_key)
                            : contract.of(id, p->request.impl.target());
      p->targets[config] = own;
      stage_into(*p, config);
      if (config == BuildConfig::normal) check_student_sources(context, *p);
      if (p->build_errors.contains(config)) continue;  // refused: not compiled
      if (!markers.contains(own.tests_target)) {
        targets.push_back(own.tests_target);
        markers[own.tests_target] = contract.step_markers(own);
      }
    }
    const auto built =
        targets.empty() ? BuildResult{} : builder.build(config, targets, label, markers);
    for (auto* p : users) {
      if (p->build_errors.contains(config)) continue;
      const auto it = built.errors.find(p->targets.at(config).tests_target);
      if (it != built.errors.end()) {
        p->build_errors[config] = rewrite_paths(it->second, *p);
      } else {
        check_student_objects(context, *p, config);
      }
    }
  }
}

// Takes what the build thread added to an implementation (its builds, their targets and errors,
// the staging notes); what this thread found by listing its tests stays.
void take_builds(PreparedImpl& into, PreparedImpl&& from) {
  into.built = std::move(from.built);
  into.targets = std::move(from.targets);
  for (auto& [config, error] : from.build_errors)
    into.build_errors.try_emplace(config, std::move(error));
  into.warnings = std::move(from.warnings);
  into.path_rewrites = std::move(from.path_rewrites);
}

// What a report says about an implementation's builds: the normal build's errors, or else the
// first other build's.
std::optional<std::string> build_error_of(const PreparedImpl& p) {
  if (auto it = p.build_errors.find(BuildConfig::normal); it != p.build_errors.end()) {
    return it->second;
  }
  if (p.build_errors.empty()) return std::nullopt;
  const auto& [config, errors] = *p.build_errors.begin();
  return "(" + preset_name(config) + " build) " + errors;
}

// Runs `cells[i]` of implementation i and adds each run to its test in `results[i]`.
void run_cells(const GradeContext& context, const std::vector<PreparedImpl>& prepared,
               const std::vector<std::vector<Cell>>& cells, std::vector<ExerciseResult>& results) {
  // One slot per cell; each job fills its own.
  std::vector<std::vector<std::optional<RunResult>>> slots(prepared.size());
  std::vector<Job> jobs;
  std::atomic<int> done{0};
  int total = 0;
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    const auto& p = prepared[i];
    slots[i].resize(cells[i].size());
    if (p.build_errors.contains(BuildConfig::normal)) continue;
    for (std::size_t c = 0; c < cells[i].size(); ++c) {
      const auto& cell = cells[i][c];
      auto* slot = &slots[i][c];
      if (p.build_errors.contains(cell.build)) {
        *slot = not_run(cell.build, "did not build in the " + preset_name(cell.build) + " build");
        continue;
      }
      const auto spec =
          std::find_if(p.request.manifest.tests.begin(), p.request.manifest.tests.end(),
                       [&](const TestSpec& test) { return test.name == cell.test; });
      if (spec == p.request.manifest.tests.end()) continue;
      TestRunRequest request;
      request.binary = p.targets.at(cell.build).tests_binary;
      request.spec = *spec;
      request.config = cell.build;
      request.base_time_scale = context.base_time_scale;
      request.root = context.root;
      if (!context.trace_root.empty()) {
        request.trace_dir =
            context.trace_root / p.request.manifest.id / safe_dir_name(p.request.impl.label());
      }
      request.policy = policy_for(context.policy, p.request.manifest);
      ++total;
      jobs.push_back(Job{is_exclusive(*spec), [request, slot, &done, &total, &context] {
                           *slot = run_test(request);
                           const int finished = ++done;
                           context.progress->update("[" + std::to_string(finished) + "/" +
                                                    std::to_string(total) + "]");
                         }});
    }
  }
  if (total > 0) {
    context.progress->step("running " + std::to_string(total) + " test run" +
                           (total == 1 ? "" : "s") + "...");
  }
  run_jobs(std::move(jobs), context.jobs);
  context.progress->clear();

  for (std::size_t i = 0; i < prepared.size(); ++i) {
    const auto& p = prepared[i];
    for (std::size_t c = 0; c < cells[i].size(); ++c) {
      const auto& cell = cells[i][c];
      auto test = std::find_if(results[i].tests.begin(), results[i].tests.end(),
                               [&](const TestResult& t) { return t.spec.name == cell.test; });
      if (test == results[i].tests.end()) continue;
      if (p.build_errors.contains(BuildConfig::normal)) {
        if (test->runs.empty()) test->runs.push_back(not_run(BuildConfig::normal, "did not build"));
        continue;
      }
      const auto& slot = slots[i][c];
      test->runs.push_back(slot ? with_submission_paths(*slot, p)
                                : not_run(cell.build, "interrupted"));
      test->score = test->passed() ? test->spec.points : 0.0;
    }
  }
}

// An implementation's result with a TestResult per planned test and no run yet.
ExerciseResult result_before_runs(const PreparedImpl& p) {
  ExerciseResult result;
  result.manifest = p.request.manifest;
  result.implementation = p.request.impl.label();
  result.build_error = build_error_of(p);
  for (const auto& spec : p.request.plan.tests(p.request.manifest)) {
    TestResult test;
    test.spec = spec;
    result.tests.push_back(std::move(test));
  }
  return result;
}

}  // namespace

std::vector<PreparedImpl> prepare(const GradeContext& context, std::vector<ImplRequest> requests) {
  std::vector<PreparedImpl> prepared;
  for (auto& r : requests) {
    PreparedImpl p;
    p.request = std::move(r);
    prepared.push_back(std::move(p));
  }
  std::vector<PreparedImpl*> all;
  for (auto& p : prepared) all.push_back(&p);
  build_planned(context, all, build_label(prepared));
  for (auto& p : prepared) list_binary_tests(context, p);
  return prepared;
}

std::vector<ExerciseResult> run_prepared(const GradeContext& context,
                                         const std::vector<PreparedImpl>& prepared) {
  std::vector<ExerciseResult> results;
  std::vector<std::vector<Cell>> cells;
  for (const auto& p : prepared) {
    results.push_back(result_before_runs(p));
    cells.push_back(p.request.plan.cells());
  }
  run_cells(context, prepared, cells, results);
  return results;
}

PreparedRun prepare_and_run_overlapped(const GradeContext& context,
                                       std::vector<ImplRequest> requests) {
  PreparedRun run;
  auto& prepared = run.prepared;
  for (auto& r : requests) {
    PreparedImpl p;
    p.request = std::move(r);
    prepared.push_back(std::move(p));
  }
  const auto label = build_label(prepared);
  std::vector<PreparedImpl*> all;
  for (auto& p : prepared) all.push_back(&p);
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  auto start = Clock::now();
  build_planned(context, all, label, {BuildConfig::normal});
  run.stages.emplace_back("normal build", seconds_since(start));
  const auto runs_first_in_normal = [](const PreparedImpl& p) {
    const auto builds = p.request.plan.builds();
    return builds.empty() || builds.front() == BuildConfig::normal;
  };
  for (auto& p : prepared) {
    if (runs_first_in_normal(p)) list_binary_tests(context, p);
  }

  // The sanitizer builds are made one configuration at a time, on the builder thread's own copy
  // of the implementations; after each, a copy of that copy is handed to this thread (one promise
  // per configuration), so the two threads never share an implementation, and a configuration's
  // cells start while the next one compiles.
  std::vector<BuildConfig> sanitizer_builds;
  for (const auto config : test_builds()) {
    if (config != BuildConfig::normal) sanitizer_builds.push_back(config);
  }
  std::vector<std::promise<std::vector<PreparedImpl>>> handing_over(sanitizer_builds.size());
  std::vector<std::future<std::vector<PreparedImpl>>> handed_over;
  for (auto& promise : handing_over) handed_over.push_back(promise.get_future());
  double sanitizer_build_seconds = 0.0;
  start = Clock::now();
  std::jthread sanitizer_builder([&, building = prepared]() mutable {
    const auto began = Clock::now();
    std::vector<PreparedImpl*> impls;
    for (auto& p : building) impls.push_back(&p);
    std::size_t next = 0;
    try {
      for (; next < sanitizer_builds.size(); ++next) {
        build_planned(context, impls, label, {sanitizer_builds[next]});
        handing_over[next].set_value(building);
      }
    } catch (...) {
      for (; next < sanitizer_builds.size(); ++next)
        handing_over[next].set_exception(std::current_exception());
    }
    sanitizer_build_seconds = seconds_since(began);
  });

  // Each cell goes to the step that runs it: its build's shared cells, or the exclusive ones.
  const auto cells_where = [&](const std::function<bool(const Cell&, bool alone)>& wanted) {
    std::vector<std::vector<Cell>> cells(prepared.size());
    for (std::size_t i = 0; i < prepared.size(); ++i) {
      const auto& tests = prepared[i].request.manifest.tests;
      for (const auto& cell : prepared[i].request.plan.cells()) {
        const auto spec = std::find_if(tests.begin(), tests.end(), [&](const TestSpec& test) {
          return test.name == cell.test;
        });
        if (wanted(cell, spec != tests.end() && is_exclusive(*spec))) cells[i].push_back(cell);
      }
    }
    return cells;
  };
  const auto shared_cells_of = [&](BuildConfig config) {
    return cells_where(
        [config](const Cell& cell, bool alone) { return cell.build == config && !alone; });
  };

  for (const auto& p : prepared) run.results.push_back(result_before_runs(p));
  run_cells(context, prepared, shared_cells_of(BuildConfig::normal), run.results);
  run.stages.emplace_back("normal runs", seconds_since(start));
  for (std::size_t k = 0; k < sanitizer_builds.size(); ++k) {
    const auto config = sanitizer_builds[k];
    auto built = handed_over[k].get();  // waits for that build
    for (std::size_t i = 0; i < prepared.size(); ++i) take_builds(prepared[i], std::move(built[i]));
    start = Clock::now();
    for (std::size_t i = 0; i < prepared.size(); ++i) {
      const auto builds = prepared[i].request.plan.builds();
      if (!builds.empty() && builds.front() == config) list_binary_tests(context, prepared[i]);
      if (!run.results[i].build_error) run.results[i].build_error = build_error_of(prepared[i]);
    }
    run_cells(context, prepared, shared_cells_of(config), run.results);
    run.stages.emplace_back(std::string(to_string(config)) + " runs", seconds_since(start));
  }
  sanitizer_builder.join();
  run.stages.emplace_back("sanitizer builds", sanitizer_build_seconds);
  // The exclusive cells of every build run one at a time with nothing else running (run_jobs),
  // the builds all done.
  start = Clock::now();
  run_cells(context, prepared, cells_where([](const Cell&, bool alone) { return alone; }),
            run.results);
  run.stages.emplace_back("exclusive runs", seconds_since(start));
  return run;
}

void add_sanitizer_runs(const GradeContext& context, std::vector<PreparedImpl>& prepared,
                        std::vector<ExerciseResult>& results,
                        const std::function<bool(const PreparedImpl&)>& which) {
  std::vector<std::vector<Cell>> added(prepared.size());
  std::vector<PreparedImpl*> users;
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    if (!which(prepared[i])) continue;
    const auto& tests = results[i].tests;
    added[i] = prepared[i].request.plan.add_tagged_sanitizer_runs(
        prepared[i].request.manifest, [&](const TestSpec& spec) {
          return std::any_of(tests.begin(), tests.end(), [&](const TestResult& test) {
            return test.spec.name == spec.name && test.passed();
          });
        });
    if (!added[i].empty()) users.push_back(&prepared[i]);
  }
  if (users.empty()) return;
  build_planned(context, users, build_label(prepared));
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    if (!results[i].build_error) results[i].build_error = build_error_of(prepared[i]);
  }
  run_cells(context, prepared, added, results);
}

}  // namespace grader
