#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "reporters.hpp"
#include "util.hpp"

namespace grader {

namespace {

bool is_course_root(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "exercises", ec) && fs::is_directory(dir / "grader", ec);
}

std::optional<fs::path> search_upwards(fs::path dir) {
  for (; !dir.empty(); dir = dir.parent_path()) {
    if (is_course_root(dir)) return dir;
    if (dir == dir.parent_path()) break;
  }
  return std::nullopt;
}

std::string render(const std::string& format, const GradeReport& report, const GradeArgs& args,
                   bool to_terminal) {
  if (format == "json") return render_json(report);
  if (format == "junit") return render_junit(report);
  if (format == "gradescope") return render_gradescope(report);
  if (format == "github") return render_github(report);
  if (format == "html") return render_html(report);
  if (format == "classroom") return render_classroom(report);
  return render_text(report, TextOptions{to_terminal && use_color(), args.verbose});
}

void append_file(const fs::path& path, const std::string& content) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) throw GraderError("cannot append to " + path.string());
  std::fwrite(content.data(), 1, content.size(), file);
  std::fclose(file);
}

}  // namespace

fs::path find_root(const std::optional<fs::path>& given) {
  if (given) {
    auto root = fs::weakly_canonical(fs::absolute(*given));
    if (!is_course_root(root)) {
      throw GraderError(root.string() +
                        " is not the course's root (no exercises/ and grader/ there)");
    }
    return root;
  }
  if (auto found = search_upwards(fs::current_path())) return *found;
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    if (auto found = search_upwards(exe.parent_path())) return *found;
  }
  throw GraderError(
      "cannot find the course's root; run grader/grader from the course, or pass --root");
}

std::vector<ImplRequest> make_requests(const fs::path& root,
                                       const std::vector<ExerciseManifest>& manifests,
                                       const std::string& impl, bool sanitizers) {
  std::vector<ImplRequest> requests;
  std::optional<fs::path> submission;
  const bool named = impl == "exercises" || impl == "solutions" || impl.rfind("mutant-", 0) == 0;
  if (!named) {
    std::error_code ec;
    if (!fs::is_directory(impl, ec)) {
      throw GraderError("--impl: '" + impl +
                        "' is neither exercises, solutions, mutant-<name> nor a directory");
    }
    submission = fs::weakly_canonical(fs::absolute(impl));
  }
  for (const auto& manifest : manifests) {
    ImplRequest request;
    request.manifest = manifest;
    request.tagged_sanitizer_runs = sanitizers;
    request.single_exercise = manifests.size() == 1;
    if (submission) {
      request.impl = "submission";
      request.submission = submission;
      request.label = submission->string();
    } else {
      request.impl = impl;
      request.label = impl;
    }
    if (impl == "solutions" && !fs::is_directory(root / "solutions" / manifest.id / "src")) {
      throw GraderError("no reference solution for " + manifest.id + " (solutions/" + manifest.id +
                        "/src is missing)");
    }
    if (impl.rfind("mutant-", 0) == 0 &&
        !is_mutant_dir(root / "solutions" / manifest.id / "mutants" / impl.substr(7))) {
      throw GraderError(manifest.id + " has no mutant '" + impl.substr(7) + "'");
    }
    requests.push_back(std::move(request));
  }
  return requests;
}

std::vector<std::string> check_prepared(const fs::path& root,
                                        const std::vector<PreparedImpl>& prepared, bool strict) {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  for (const auto& p : prepared) {
    const auto file = display_path(p.request.manifest.dir / "exercise.toml", root);
    for (const auto& name : p.check.missing_in_binary) {
      errors.push_back(file + ": tests: '" + name + "' is not a test in the test binary");
    }
    if (!p.check.missing_in_manifest.empty()) {
      const auto message = file + ": the test binary has tests the manifest does not list: " +
                           join(p.check.missing_in_manifest, ", ");
      (strict ? errors : warnings).push_back(message);
    }
  }
  if (!errors.empty()) throw ManifestError(errors);
  return warnings;
}

void emit_reports(const fs::path& root, const GradeReport& report, const GradeArgs& args) {
  const auto last = root / "build" / "reports" / "last";
  write_file(last / "report.json", render_json(report));
  write_file(last / "report.html", render_html(report));

  std::vector<std::string> formats = args.formats;
  if (formats.empty()) formats.push_back("text");
  bool stdout_used = false;
  bool text_on_stdout = false;
  for (std::size_t i = 0; i < formats.size(); ++i) {
    const auto& format = formats[i];
    if (i < args.outputs.size() && !args.outputs[i].empty()) {
      write_file(args.outputs[i], render(format, report, args, false));
      continue;
    }
    const auto summary = get_env("GITHUB_STEP_SUMMARY");
    if (format == "github" && summary && !summary->empty()) {
      append_file(*summary, render(format, report, args, false));
      continue;
    }
    std::cout << render(format, report, args, stdout_is_tty());
    stdout_used = true;
    text_on_stdout = text_on_stdout || format == "text";
  }
  // Reports written only to files still deserve a summary on the terminal.
  if (!stdout_used) {
    std::cout << render("text", report, args, stdout_is_tty());
    text_on_stdout = true;
  }
  if (text_on_stdout) {
    if (args.no_sanitizers) std::cout << "Note: sanitizer runs skipped (--no-sanitizers).\n";
    std::cout << "Reports: " << display_path(last / "report.json", root) << ", "
              << display_path(last / "report.html", root) << "\n";
  }
  std::cout.flush();
}

}  // namespace grader
