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
  const auto* found = find_report_format(format);
  if (found == nullptr) throw GraderError("--format: unknown format '" + format + "'");
  return found->render(report, TextOptions{to_terminal && use_color(), args.verbose});
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
  std::optional<Impl> chosen = Impl::named(impl);
  if (!chosen) {
    std::error_code ec;
    if (!fs::is_directory(impl, ec)) {
      throw GraderError("--impl: '" + impl +
                        "' is neither exercises, solutions, mutant-<name>, going-further-<name> "
                        "nor a directory");
    }
    const auto dir = fs::weakly_canonical(fs::absolute(impl));
    chosen = Impl::of_submission(dir, dir.string());
  }
  std::vector<ImplRequest> requests;
  for (const auto& manifest : manifests) {
    const auto solution = root / "solutions" / manifest.id;
    switch (chosen->kind) {
      case Impl::Kind::reference:
        if (!fs::is_directory(solution / "src")) {
          throw GraderError("no reference solution for " + manifest.id + " (solutions/" +
                            manifest.id + "/src is missing)");
        }
        break;
      case Impl::Kind::mutant:
        if (!is_mutant_dir(solution / "mutants" / chosen->name)) {
          throw GraderError(manifest.id + " has no mutant '" + chosen->name + "'");
        }
        break;
      case Impl::Kind::going_further:
        if (!fs::is_directory(solution / "going-further" / chosen->name)) {
          throw GraderError(manifest.id + " has no going-further variant '" + chosen->name +
                            "' (solutions/" + manifest.id + "/going-further/)");
        }
        break;
      case Impl::Kind::student:
      case Impl::Kind::submission:
        break;
    }
    ImplRequest request;
    request.manifest = manifest;
    request.impl = *chosen;
    request.tagged_sanitizer_runs = sanitizers;
    request.single_exercise = manifests.size() == 1;
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
