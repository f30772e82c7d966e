// course-grader: the command line. grader/grader builds it and runs it with
// --root <course root>; see grader/README.md.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <string>

#include "commands/commands.hpp"
#include "course/util.hpp"
#include "reports/reporters.hpp"
#include "running/sandbox.hpp"

namespace {

using grader::GradeArgs;
using grader::SelfcheckArgs;

void add_jobs_option(CLI::App* command, int& jobs,
                     const std::string& by_default = "min(2, cores)") {
  command->add_option("--jobs,-j", jobs, "Tests run at once (default: " + by_default + ")")
      ->check(CLI::Range(1, 64));
}

}  // namespace

namespace {

// `--format A --output F --format B` writes A to F and B to the terminal: an
// --output belongs to the --format just before it. GradeArgs::outputs ends up
// as long as formats, with "" for the terminal.
void pair_outputs_with_formats(const CLI::App& grade, const CLI::Option* format_option,
                               const CLI::Option* output_option, grader::GradeArgs& args) {
  std::vector<std::string> formats;
  std::vector<std::string> outputs;
  std::size_t next_format = 0;
  std::size_t next_output = 0;
  for (const auto* option : grade.parse_order()) {
    if (option == format_option && next_format < args.formats.size()) {
      formats.push_back(args.formats[next_format++]);
      outputs.emplace_back();
    } else if (option == output_option && next_output < args.outputs.size()) {
      if (outputs.empty() || !outputs.back().empty()) {
        throw grader::GraderError(
            "each --output must follow the --format it is for, as in "
            "`--format gradescope --output results.json`");
      }
      outputs.back() = args.outputs[next_output++];
    }
  }
  args.formats = std::move(formats);
  args.outputs = std::move(outputs);
}

}  // namespace

int main(int argc, char** argv) {
  // A reader that goes away (`| head`) must not kill the grader mid-run.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"course-grader: builds and grades the course's exercises"};
  app.require_subcommand(1);
  std::optional<std::string> root_arg;
  app.add_option("--root", root_arg, "The course's root directory");
  bool unsandboxed = false;
  app.add_flag("--allow-unsandboxed", unsandboxed,
               "Where the machine gives neither root nor user namespaces: run the tests as "
               "yourself anyway (your own laptop only; the report says so)");

  std::optional<std::string> list_impl;
  auto* list =
      app.add_subcommand("list", "List the exercises: each one's state and your last grade of it");
  list->add_option("--impl", list_impl, "With a submission directory: where each file comes from");

  GradeArgs grade_args;
  auto* grade = app.add_subcommand("grade", "Build and grade exercises (default: all)");
  grade->add_option("exercises", grade_args.exercises, "00-warmup, 00, 0 or warmup");
  grade->add_option("--impl", grade_args.impl,
                    "exercises (your code, default), solutions, mutant-<name>, "
                    "going-further-<name>, or a submission directory");
  auto* format_option =
      grade
          ->add_option("--format", grade_args.formats,
                       grader::join(grader::report_format_names(), ", ") + " (repeatable)")
          ->check(CLI::IsMember(grader::report_format_names()))
          ->allow_extra_args(false);
  auto* output_option =
      grade->add_option("--output", grade_args.outputs, "File for the --format just before it")
          ->allow_extra_args(false);
  grade
      ->add_option("--fail-under", grade_args.fail_under,
                   "Exit 1 when the score is below this percentage")
      ->check(CLI::Range(0.0, 100.0));
  add_jobs_option(grade, grade_args.jobs);
  grade->add_flag("--no-sanitizers", grade_args.no_sanitizers,
                  "Skip the ThreadSanitizer and AddressSanitizer runs (quicker)");
  grade->add_flag("--verbose,-v", grade_args.verbose, "Show the whole output of failed tests");
  grade
      ->add_option("--test", grade_args.tests,
                   "Run only this test, by the full name the report prints (repeatable)")
      ->allow_extra_args(false);

  std::string hint_exercise;
  std::optional<int> hint_level;
  auto* hint = app.add_subcommand("hint", "Show the next hint for an exercise");
  hint->add_option("exercise", hint_exercise, "The exercise")->required();
  hint->add_option("--level", hint_level, "Show this hint (1 = the first)");

  std::string watch_exercise;
  int watch_jobs = 0;
  auto* watch = app.add_subcommand("watch", "Regrade an exercise every time you save");
  watch->add_option("exercise", watch_exercise, "The exercise")->required();
  add_jobs_option(watch, watch_jobs);

  SelfcheckArgs selfcheck_args;
  auto* selfcheck = app.add_subcommand(
      "selfcheck", "Instructors: solutions score full marks, skeletons 0, every mutant is caught");
  selfcheck->add_option("exercises", selfcheck_args.exercises, "Exercises (default: all)");
  add_jobs_option(selfcheck, selfcheck_args.jobs, "2 x min(2, cores)");
  selfcheck->add_flag("--skip-unit", selfcheck_args.skip_unit,
                      "Skip the unit tests of the test kit and the grader");
  selfcheck->add_flag("--static", selfcheck_args.static_only,
                      "Only what needs no build: manifests, mutants' patches, requirements "
                      "tables (seconds, not minutes)");

  bool skeletons_write = false;
  auto* skeletons = app.add_subcommand(
      "skeletons",
      "Instructors: check grader/skeletons.sha256 (how grade knows an exercise was started)");
  skeletons->add_flag("--write", skeletons_write, "Write it from the skeletons as they are now");

  std::string export_dir;
  auto* export_student = app.add_subcommand(
      "export-student", "Instructors: write the student repository (no solutions) to DIR");
  export_student->add_option("dir", export_dir, "A new or empty directory")->required();

  grader::StressArgs stress_args;
  auto* stress = app.add_subcommand(
      "stress", "Instructors: run the reference's tests many times with one core kept busy");
  stress->add_option("exercises", stress_args.exercises, "Exercises (default: all)");
  stress->add_option("--runs", stress_args.runs, "Rounds (default 50)");
  stress->add_option("--config", stress_args.config, "default, asan or tsan");
  stress->add_flag("!--no-load", stress_args.load, "Do not keep a core busy");
  add_jobs_option(stress, stress_args.jobs);

  std::string new_name;
  auto* create =
      app.add_subcommand("new", "Instructors: scaffold a new exercise from the templates");
  create->add_option("name", new_name, "Its name, such as bounded-queue")->required();

  std::vector<std::string> compile_command;
  auto* sandbox_compile = app.add_subcommand(
      "sandbox-compile", "Internal: the compiler launcher of student code under a root grader");
  sandbox_compile->group("");  // not listed in --help
  sandbox_compile->add_option("command", compile_command, "The compiler and its arguments")
      ->required();

  CLI11_PARSE(app, argc, argv);

  try {
    const auto root = grader::find_root(root_arg ? std::optional<std::filesystem::path>(*root_arg)
                                                 : std::nullopt);
    if (*list) return grader::cmd_list(root, list_impl);
    if (*sandbox_compile) return grader::cmd_sandbox_compile(root, compile_command);
    grader::allow_unsandboxed(unsandboxed);
    if (*grade || *watch || *selfcheck || *stress) {
      if (const auto refusal = grader::unsandboxed_refusal()) throw grader::GraderError(*refusal);
    }
    if (*grade) {
      pair_outputs_with_formats(*grade, format_option, output_option, grade_args);
      return grader::cmd_grade(root, grade_args);
    }
    if (*hint) return grader::cmd_hint(root, hint_exercise, hint_level);
    if (*watch) return grader::cmd_watch(root, watch_exercise, watch_jobs);
    if (*selfcheck) return grader::cmd_selfcheck(root, selfcheck_args);
    if (*export_student) return grader::cmd_export_student(root, export_dir);
    if (*skeletons) return grader::cmd_skeletons(root, skeletons_write);
    if (*create) return grader::cmd_new(root, new_name);
    if (*stress) return grader::cmd_stress(root, stress_args);
  } catch (const grader::GraderError& e) {
    std::cerr << "grader: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "grader: internal error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
