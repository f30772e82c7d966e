#include "running/fuzz.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "course/util.hpp"
#include "running/process.hpp"

namespace grader {

namespace fs = std::filesystem;

bool has_fuzz_sources(const fs::path& root, const std::vector<std::string>& exercise_ids) {
  return std::any_of(exercise_ids.begin(), exercise_ids.end(), [&](const std::string& id) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root / "exercises" / id / "fuzz", ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".cpp") return true;
    }
    return false;
  });
}

std::vector<FuzzTarget> fuzz_targets(const BuildContract& contract,
                                     const std::vector<std::string>& exercise_ids) {
  std::vector<FuzzTarget> targets;
  for (const auto& target : contract.fuzz_targets()) {
    if (std::find(exercise_ids.begin(), exercise_ids.end(), target.exercise_id) !=
        exercise_ids.end()) {
      targets.push_back(target);
    }
  }
  return targets;
}

int fuzz_seconds(const char* setting) {
  constexpr int kDefault = 20;
  if (setting == nullptr || *setting == '\0') return kDefault;
  char* end = nullptr;
  const long value = std::strtol(setting, &end, 10);
  if (*end != '\0' || value <= 0 || value > 24L * 3600) return kDefault;
  return static_cast<int>(value);
}

std::vector<std::string> fuzz_command(const FuzzTarget& target, int seconds,
                                      const fs::path& corpus) {
  return {target.binary.string(), "-max_total_time=" + std::to_string(seconds),
          "-timeout=10",  // one input taking longer is a hang: reported as a failure
          "-rss_limit_mb=3072",   "-print_final_stats=1",
          corpus.string()};
}

std::string fuzz_failure_excerpt(const std::string& output, std::size_t max_lines) {
  const auto lines = split_lines(output);
  std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.find("ERROR:") != std::string_view::npos ||
        line.find("runtime error:") != std::string_view::npos ||
        line.find("deadly signal") != std::string_view::npos ||
        line.find("timeout after") != std::string_view::npos) {
      first = i;
      break;
    }
  }
  const std::vector<std::string> kept(lines.begin() + static_cast<std::ptrdiff_t>(first),
                                      lines.end());
  return cap_lines(join(kept, "\n"), max_lines);
}

std::optional<fs::path> fuzz_compiler() { return find_executable("clang++"); }

}  // namespace grader
