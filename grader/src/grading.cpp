#include "grading.hpp"

#include <algorithm>
#include <atomic>
#include <set>

#include "build.hpp"
#include "job_pool.hpp"
#include "staging.hpp"
#include "submission_check.hpp"

namespace grader {

namespace {

constexpr BuildConfig kAllConfigs[] = {BuildConfig::normal, BuildConfig::tsan, BuildConfig::asan};

void add_unique(std::vector<BuildConfig>& configs, BuildConfig config) {
  if (std::find(configs.begin(), configs.end(), config) == configs.end()) configs.push_back(config);
}

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

// Stages a submission into one build directory; the staged paths in compiler
// errors are rewritten to the submission's own paths.
void stage_into(const GradeContext& context, PreparedImpl& impl, BuildConfig config) {
  const auto& request = impl.request;
  if (request.impl.kind != Impl::Kind::submission || !request.impl.submission) return;
  auto staged = stage_submission(*request.impl.submission, request.manifest,
                                 build_dir(context.root, config), request.single_exercise);
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
  const auto problems = check_sources(files, is_header_only(manifest), manifest.allowed_calls);
  if (!problems.empty()) impl.build_errors[BuildConfig::normal] = refusal(problems);
}

std::string rewrite_paths(std::string text, const PreparedImpl& impl) {
  for (const auto& [from, to] : impl.path_rewrites) text = replace_all(std::move(text), from, to);
  return text;
}

// The objects compiled from the student's files (the reference's too, which proves the checks
// accept correct code): the link check of submission_check.hpp.
void check_student_objects(const GradeContext& context, PreparedImpl& impl) {
  const auto& manifest = impl.request.manifest;
  const auto kind = impl.request.impl.kind;
  if (!context.link_check || kind == Impl::Kind::mutant || is_header_only(manifest)) return;
  const auto archive = build_dir(context.root, BuildConfig::normal) /
                       ("lib" + manifest.id + "_impl_" + impl.request.impl.target() + ".a");
  std::vector<ObjectFile> objects;
  for (const auto& file : manifest.student_files) {
    const fs::path path(file);
    if (path.extension() != ".cpp") continue;
    // A submission's files are named as the student knows them, not by their staged copies.
    const auto shown = kind == Impl::Kind::submission
                           ? rewrite_paths((build_dir(context.root, BuildConfig::normal) /
                                            "submission" / manifest.id / file)
                                               .string(),
                                           impl)
                           : display_path(manifest.dir / file, context.root);
    objects.push_back({path.filename().string() + ".o", shown});
  }
  const auto problems = check_objects(archive, objects, manifest.allowed_calls);
  if (!problems.empty()) impl.build_errors[BuildConfig::normal] = refusal(problems);
}

// Messages about a submission name its own files, not their staged copies.
RunResult with_submission_paths(RunResult run, const PreparedImpl& impl) {
  if (impl.path_rewrites.empty()) return run;
  for (auto& attempt : run.attempts) attempt.reason = rewrite_paths(attempt.reason, impl);
  run.output = rewrite_paths(run.output, impl);
  return run;
}

// Lists the tests of the binary of the first build the implementation needs (the normal build,
// unless it runs in sanitizer builds only).
void list_binary_tests(const GradeContext& context, PreparedImpl& impl) {
  const auto& request = impl.request;
  const auto configs = impl.configs();
  const auto config = configs.empty() ? BuildConfig::normal : configs.front();
  if (impl.build_errors.contains(BuildConfig::normal) || impl.build_errors.contains(config)) return;
  const auto binary = test_binary(context.root, config, request.manifest.id, request.impl.target());
  auto listing = list_tests(binary, context.root, context.policy, config);
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

std::vector<BuildConfig> sanitizer_configs_of(const TestSpec& test) {
  std::vector<BuildConfig> configs;
  if (test.has_tag(kTagTsan)) configs.push_back(BuildConfig::tsan);
  if (test.has_tag(kTagAsan)) configs.push_back(BuildConfig::asan);
  return configs;
}

std::vector<TestSpec> PreparedImpl::selected_tests() const {
  const auto& all = request.manifest.tests;
  if (!request.only_tests) return all;
  std::vector<TestSpec> selected;
  for (const auto& test : all) {
    const auto& only = *request.only_tests;
    if (std::find(only.begin(), only.end(), test.name) != only.end()) selected.push_back(test);
  }
  return selected;
}

std::vector<BuildConfig> PreparedImpl::configs_for(const TestSpec& test) const {
  std::vector<BuildConfig> configs;
  if (!request.sanitizer_builds_only) configs.push_back(BuildConfig::normal);
  if (request.tagged_sanitizer_runs) {
    for (auto c : sanitizer_configs_of(test)) add_unique(configs, c);
  }
  for (auto c : request.every_test_in) add_unique(configs, c);
  std::vector<BuildConfig> ordered;
  for (auto c : kAllConfigs) {
    if (std::find(configs.begin(), configs.end(), c) != configs.end()) ordered.push_back(c);
  }
  return ordered;
}

std::vector<BuildConfig> PreparedImpl::configs() const {
  std::vector<BuildConfig> configs;
  if (!request.sanitizer_builds_only) configs.push_back(BuildConfig::normal);
  for (const auto& test : selected_tests()) {
    for (auto c : configs_for(test)) add_unique(configs, c);
  }
  return configs;
}

std::vector<PreparedImpl> prepare(const GradeContext& context, std::vector<ImplRequest> requests) {
  std::vector<PreparedImpl> prepared;
  for (auto& r : requests) {
    PreparedImpl p;
    p.request = std::move(r);
    prepared.push_back(std::move(p));
  }
  Builder builder(context.root, *context.progress);
  const auto label = build_label(prepared);

  for (auto config : kAllConfigs) {
    std::vector<PreparedImpl*> users;
    for (auto& p : prepared) {
      const auto configs = p.configs();
      // Code that does not compile normally would only fail again, slower,
      // under a sanitizer.
      if (p.build_errors.contains(BuildConfig::normal)) continue;
      if (std::find(configs.begin(), configs.end(), config) != configs.end()) users.push_back(&p);
    }
    if (users.empty()) continue;
    builder.ensure_configured(config);
    std::vector<std::string> targets;
    for (auto* p : users) {
      stage_into(context, *p, config);
      if (config == BuildConfig::normal) check_student_sources(context, *p);
      if (p->build_errors.contains(config)) continue;  // refused: not compiled
      const auto target = test_target(p->request.manifest.id, p->request.impl.target());
      if (std::find(targets.begin(), targets.end(), target) == targets.end())
        targets.push_back(target);
    }
    const auto built = targets.empty() ? BuildResult{} : builder.build(config, targets, label);
    for (auto* p : users) {
      if (p->build_errors.contains(config)) continue;
      const auto it =
          built.errors.find(test_target(p->request.manifest.id, p->request.impl.target()));
      if (it != built.errors.end()) {
        p->build_errors[config] = rewrite_paths(it->second, *p);
      } else if (config == BuildConfig::normal) {
        check_student_objects(context, *p);
      }
    }
  }
  for (auto& p : prepared) list_binary_tests(context, p);
  return prepared;
}

std::vector<ExerciseResult> run_prepared(const GradeContext& context,
                                         const std::vector<PreparedImpl>& prepared) {
  // One slot per (implementation, test, build); each job fills its own slot.
  struct Slot {
    std::optional<RunResult> run;
  };
  std::vector<std::vector<std::vector<Slot>>> slots(prepared.size());
  std::vector<std::vector<TestSpec>> tests(prepared.size());
  std::vector<Job> jobs;
  std::atomic<int> done{0};
  int total = 0;

  for (std::size_t i = 0; i < prepared.size(); ++i) {
    const auto& p = prepared[i];
    tests[i] = p.selected_tests();
    slots[i].resize(tests[i].size());
    if (p.build_errors.contains(BuildConfig::normal)) continue;
    for (std::size_t t = 0; t < tests[i].size(); ++t) {
      const auto configs = p.configs_for(tests[i][t]);
      slots[i][t].resize(configs.size());
      for (std::size_t c = 0; c < configs.size(); ++c) {
        const auto config = configs[c];
        Slot* slot = &slots[i][t][c];
        if (p.build_errors.contains(config)) {
          slot->run = not_run(config, "did not build in the " + preset_name(config) + " build");
          continue;
        }
        TestRunRequest request;
        request.binary =
            test_binary(context.root, config, p.request.manifest.id, p.request.impl.target());
        request.spec = tests[i][t];
        request.config = config;
        request.base_time_scale = context.base_time_scale;
        request.root = context.root;
        if (!context.trace_root.empty()) {
          request.trace_dir =
              context.trace_root / p.request.manifest.id / safe_dir_name(p.request.impl.label());
        }
        request.policy = context.policy;
        ++total;
        jobs.push_back(Job{is_exclusive(tests[i][t]), [request, slot, &done, &total, &context] {
                             slot->run = run_test(request);
                             const int finished = ++done;
                             context.progress->update("[" + std::to_string(finished) + "/" +
                                                      std::to_string(total) + "]");
                           }});
      }
    }
  }
  if (total > 0) {
    context.progress->step("running " + std::to_string(total) + " test run" +
                           (total == 1 ? "" : "s") + "...");
  }
  run_jobs(std::move(jobs), context.jobs);
  context.progress->clear();

  std::vector<ExerciseResult> results;
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    const auto& p = prepared[i];
    ExerciseResult result;
    result.manifest = p.request.manifest;
    result.implementation = p.request.impl.label();
    if (auto it = p.build_errors.find(BuildConfig::normal); it != p.build_errors.end()) {
      result.build_error = it->second;
    } else if (!p.build_errors.empty()) {
      const auto& [config, errors] = *p.build_errors.begin();
      result.build_error = "(" + preset_name(config) + " build) " + errors;
    }
    for (std::size_t t = 0; t < tests[i].size(); ++t) {
      TestResult test;
      test.spec = tests[i][t];
      if (slots[i][t].empty()) {
        test.runs.push_back(not_run(BuildConfig::normal, "did not build"));
      }
      const auto configs = p.configs_for(tests[i][t]);
      for (std::size_t c = 0; c < slots[i][t].size(); ++c) {
        auto& slot = slots[i][t][c];
        test.runs.push_back(slot.run ? with_submission_paths(*slot.run, p)
                                     : not_run(configs[c], "interrupted"));
      }
      test.score = test.passed() ? test.spec.points : 0.0;
      result.tests.push_back(std::move(test));
    }
    results.push_back(std::move(result));
  }
  return results;
}

namespace {

std::vector<std::string> passed_sanitizer_tagged(const ExerciseResult& result) {
  std::vector<std::string> names;
  for (const auto& test : result.tests) {
    if (test.passed() && !sanitizer_configs_of(test.spec).empty()) names.push_back(test.spec.name);
  }
  return names;
}

void merge_runs(ExerciseResult& into, const ExerciseResult& extra) {
  if (!into.build_error && extra.build_error) into.build_error = extra.build_error;
  for (const auto& more : extra.tests) {
    for (auto& test : into.tests) {
      if (test.spec.name != more.spec.name) continue;
      test.runs.insert(test.runs.end(), more.runs.begin(), more.runs.end());
      test.score = test.passed() ? test.spec.points : 0.0;
    }
  }
}

}  // namespace

void add_sanitizer_runs(const GradeContext& context, const std::vector<PreparedImpl>& prepared,
                        std::vector<ExerciseResult>& results) {
  std::vector<ImplRequest> requests;
  std::vector<std::size_t> owners;  // index into results for each request
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    auto names = passed_sanitizer_tagged(results[i]);
    if (names.empty()) continue;
    ImplRequest request = prepared[i].request;
    request.tagged_sanitizer_runs = true;
    request.sanitizer_builds_only = true;
    request.only_tests = std::move(names);
    requests.push_back(std::move(request));
    owners.push_back(i);
  }
  if (requests.empty()) return;
  const auto extra = run_prepared(context, prepare(context, std::move(requests)));
  for (std::size_t k = 0; k < extra.size(); ++k) merge_runs(results[owners[k]], extra[k]);
}

}  // namespace grader
