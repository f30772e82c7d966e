#include "fuzz.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "process.hpp"
#include "util.hpp"

namespace grader {

namespace fs = std::filesystem;

std::vector<FuzzTarget> fuzz_targets(const fs::path& root,
                                     const std::vector<std::string>& exercise_ids) {
  std::vector<FuzzTarget> targets;
  for (const auto& id : exercise_ids) {
    const auto dir = root / "exercises" / id / "fuzz";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<FuzzTarget> found;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".cpp") continue;
      const auto name = entry.path().stem().string();
      found.push_back({id, name, id + "_fuzz_" + name + "_solutions",
                       root / "build" / "fuzz" / "fuzz" / id / "solutions" / name});
    }
    std::sort(found.begin(), found.end(),
              [](const FuzzTarget& a, const FuzzTarget& b) { return a.name < b.name; });
    targets.insert(targets.end(), found.begin(), found.end());
  }
  return targets;
}

int fuzz_seconds(const char* setting) {
  constexpr int kDefault = 20;
  if (setting == nullptr || *setting == '\0') return kDefault;
  char* end = nullptr;
  const long value = std::strtol(setting, &end, 10);
  if (*end != '\0' || value <= 0 || value > 24 * 3600) return kDefault;
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
