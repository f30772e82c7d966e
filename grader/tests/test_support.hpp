// Helpers shared by the grader's unit tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "course/util.hpp"

namespace grader::testing_support {

inline std::filesystem::path data_dir() { return GRADER_TEST_DATA; }
inline std::filesystem::path course_dir() { return COURSE_SOURCE_DIR; }

// Writes `content` to root/relative, creating directories.
inline void put(const std::filesystem::path& root, const std::string& relative,
                const std::string& content) {
  write_file(root / relative, content);
}

// A minimal exercise under root/exercises/<id>: a manifest with the given
// tests (one point each) and one student file, src/main.cpp.
inline void make_exercise(const std::filesystem::path& root, const std::string& id,
                          const std::vector<std::string>& tests, int order = 0) {
  std::string toml = "id = \"" + id + "\"\ntitle = \"Exercise " + id +
                     "\"\norder = " + std::to_string(order) +
                     "\nstudent_files = [\"src/main.cpp\"]\n" + "hints = [\"one\", \"two\"]\n";
  for (const auto& test : tests) toml += "[[tests]]\nname = \"" + test + "\"\n";
  put(root, "exercises/" + id + "/exercise.toml", toml);
  put(root, "exercises/" + id + "/src/main.cpp", "// skeleton of " + id + "\n");
  std::filesystem::create_directories(root / "grader");
}

// An executable shell script (used as a stand-in for a test binary).
// bash, not sh: the result channel's descriptors (100, 101) are past what dash can redirect.
inline std::filesystem::path make_script(const std::filesystem::path& dir, const std::string& name,
                                         const std::string& body) {
  auto path = dir / name;
  write_file(path, "#!/bin/bash\n" + body);
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

}  // namespace grader::testing_support
