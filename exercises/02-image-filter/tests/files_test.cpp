// Level 1 (files): the notes' output names, made safe; one bad file never stops the others; an
// output appears only complete (imgfilter::save_png writes a temporary file, then renames it).
#include <sys/resource.h>

#include "test_support.hpp"

namespace imgfilter::testing {
namespace {

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The PNG signature and an IHDR chunk claiming width x height RGB pixels, nothing else.
std::string png_header_claiming(std::uint32_t width, std::uint32_t height) {
  std::string png = "\x89PNG\r\n\x1a\n";
  const auto be32 = [&png](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) png += static_cast<char>((v >> shift) & 0xff);
  };
  be32(13);
  png += "IHDR";
  be32(width);
  be32(height);
  png += std::string("\x08\x02\x00\x00\x00", 5);
  be32(0);
  return png;
}

std::vector<std::string> files_below(const fs::path& dir) {
  std::vector<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    names.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<FileResult> run_process_files(const std::vector<fs::path>& inputs, const fs::path& out,
                                          const std::vector<Filter>& chain,
                                          const Options& options = {}) {
  return run_with_deadline([&] { return process_files(inputs, out, chain, options); }, 60s,
                           "process_files");
}

std::string describe(const std::vector<FileResult>& results) {
  std::string text = "The results:\n";
  for (const FileResult& r : results) {
    text += "  " + r.input.string() + " -> " + (r.ok() ? r.output.string() : "FAILED: " + r.error) +
            "\n";
  }
  return text;
}

TEST(Files, OutputNamesFollowTheNotes) {
  EXPECT_EQ(output_name(parse_chain("blur,contrast,grayscale"), "photos/cat.jpg"),
            "blur_contrast_grayscale_cat.png");
  EXPECT_EQ(output_name(parse_chain("sharpen"), "/abs/dir/img.v2.png"), "sharpen_img.v2.png");
  EXPECT_EQ(output_name(parse_chain("contrast=2"), "x.bmp"), "contrast2_x.png");
  EXPECT_EQ(output_name({asym_kernel(3)}, "a.png"), "kernel_a.png");
}

TEST(Files, HostileNamesStayInTheOutputDirectory) {
  const std::vector<Filter> chain = parse_chain("blur");
  for (const std::string& input : std::vector<std::string>{
           "../../etc/passwd", "a b;rm -rf.png", "..", "/", ".hidden.png", "x\\..\\y.png",
           "\xff\xfe.png", "name\nwith\nnewlines.jpg", std::string("nul\0byte.png", 12)}) {
    const std::string name = output_name(chain, input);
    EXPECT_FALSE(name.empty()) << "for input '" << input << "'";
    EXPECT_EQ(name.find('/'), std::string::npos) << name;
    EXPECT_EQ(name.find('\\'), std::string::npos) << name;
    EXPECT_NE(name.front(), '.') << name;
    EXPECT_EQ(name.find('\0'), std::string::npos) << name;
    EXPECT_TRUE(name.size() > 4 && name.substr(name.size() - 4) == ".png") << name;
    for (const char c : name) {
      const bool safe =
          std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
      EXPECT_TRUE(safe) << "'" << name << "' holds a character outside [A-Za-z0-9._-]";
    }
  }
}

TEST(Files, EachFileIsFilteredAndSavedAsPillowDoes) {
  const course::TempDir dir("imgfilter");
  std::vector<fs::path> inputs;
  for (const char* name : {"rgb_33x17.png", "rgba_7x5.png", "l_5x5.png", "la_6x9.png"}) {
    inputs.push_back(golden_dir() / "inputs" / name);
  }
  for (const Mode mode : {Mode::sequential, Mode::images, Mode::tiles}) {
    const fs::path out = dir.path() / std::string(to_string(mode)) / "new";  // created on demand
    Options options;
    options.mode = mode;
    options.jobs = 3;
    std::mutex mutex;
    std::vector<WorkItem> items;
    options.hooks.started = [&](const WorkItem& item) {
      const std::scoped_lock lock(mutex);
      items.push_back(item);
    };
    const auto results =
        run_process_files(inputs, out, chain_from("blur,contrast,grayscale"), options);
    ASSERT_EQ(results.size(), inputs.size()) << describe(results);
    if (mode == Mode::tiles) {
      EXPECT_GE(items.size(), 3 * inputs.size()) << "in tiles mode process_files works in bands, "
                                                 << "each a work item, exactly as filter_images";
      for (const WorkItem& item : items) EXPECT_LT(item.first_row, item.end_row) << item.name();
    } else {
      EXPECT_EQ(items.size(), inputs.size())
          << to_string(mode) << " mode: each image is one work item, as in filter_images";
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      ASSERT_TRUE(results[i].ok()) << describe(results);
      EXPECT_EQ(results[i].input, inputs[i]) << "results come in input order";
      EXPECT_EQ(results[i].output,
                out / ("blur_contrast_grayscale_" + inputs[i].stem().string() + ".png"));
      const Image want = imgfilter::load_image(
          golden_output(inputs[i].filename().string(), "blur,contrast,grayscale"));
      const Image got = imgfilter::load_image(results[i].output);
      EXPECT_TRUE(got == want) << to_string(mode) << ", " << inputs[i].filename() << ": "
                               << first_difference(got, want);
    }
    EXPECT_EQ(files_below(out).size(), inputs.size()) << "no temporary file may be left behind";
  }
}

TEST(Files, BadFilesFailAloneAndTheOthersAreWritten) {
  const course::TempDir dir("imgfilter");
  const fs::path good = golden_dir() / "inputs" / "rgb_33x17.png";
  const std::string png = read_bytes(good);
  write_bytes(dir.file("empty.png"), "");
  write_bytes(dir.file("text.jpg"), "GIF89a, or rather not an image at all");
  write_bytes(dir.file("truncated.png"), png.substr(0, png.size() / 2));
  std::string corrupt = png;
  for (std::size_t i = 50; i + 12 < corrupt.size(); ++i) corrupt[i] = static_cast<char>(i * 7);
  write_bytes(dir.file("corrupt.png"), corrupt);
  write_bytes(dir.file("huge.png"), png_header_claiming(100000, 100000));
  fs::create_directories(dir.path() / "folder.png");
  const std::vector<fs::path> inputs = {dir.file("empty.png"),
                                        good,
                                        dir.file("text.jpg"),
                                        dir.file("truncated.png"),
                                        dir.file("corrupt.png"),
                                        dir.file("huge.png"),
                                        dir.file("missing.png"),
                                        dir.path() / "folder.png",
                                        golden_dir() / "inputs" / "l_7x5.png"};
  const std::set<std::size_t> good_ones = {1, 8};
  for (const Mode mode : {Mode::sequential, Mode::images, Mode::tiles}) {
    const fs::path out = dir.path() / ("out-" + std::string(to_string(mode)));
    Options options;
    options.mode = mode;
    options.jobs = 2;
    const auto results = run_process_files(inputs, out, parse_chain("sharpen"), options);
    ASSERT_EQ(results.size(), inputs.size()) << describe(results);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      EXPECT_EQ(results[i].input, inputs[i]);
      if (good_ones.count(i) != 0) {
        EXPECT_TRUE(results[i].ok()) << "a good file must be processed even when others fail\n"
                                     << describe(results);
        continue;
      }
      EXPECT_FALSE(results[i].ok()) << describe(results);
      EXPECT_TRUE(results[i].output.empty()) << describe(results);
      EXPECT_NE(results[i].error.find(inputs[i].filename().string()), std::string::npos)
          << "the error must name the file\n"
          << describe(results);
    }
    EXPECT_NE(results[5].error.find("100000 x 100000"), std::string::npos)
        << "a header that claims 100000 x 100000 pixels is refused from the header\n"
        << describe(results);
    EXPECT_EQ(files_below(out),
              (std::vector<std::string>{"sharpen_l_7x5.png", "sharpen_rgb_33x17.png"}))
        << "only the good files' outputs, and no temporary file";
  }
}

TEST(Files, ProgressReportsEachFailureWhenItsImageIsDone) {
  const course::TempDir dir("imgfilter");
  const fs::path good = golden_dir() / "inputs" / "rgb_33x17.png";
  write_bytes(dir.file("empty.png"), "");
  write_bytes(dir.file("text.jpg"), "not an image at all");
  const std::vector<fs::path> inputs = {dir.file("empty.png"), good, dir.file("text.jpg")};
  for (const Mode mode : {Mode::sequential, Mode::images, Mode::tiles}) {
    SCOPED_TRACE(to_string(mode));
    std::vector<Progress> seen;  // on_progress never runs twice at once
    Options options;
    options.mode = mode;
    options.jobs = 2;
    options.on_progress = [&seen](const Progress& progress) { seen.push_back(progress); };
    const auto results =
        run_process_files(inputs, dir.path() / "out", parse_chain("blur"), options);
    ASSERT_EQ(results.size(), inputs.size()) << describe(results);
    ASSERT_EQ(seen.size(), inputs.size()) << "on_progress must be called once per image";
    for (const Progress& progress : seen) {
      ASSERT_LT(progress.index, inputs.size());
      EXPECT_EQ(progress.error, results[progress.index].error)
          << "the progress of image " << progress.index << " (" << inputs[progress.index]
          << ") should carry its FileResult's error, empty when it was written, so that a "
             "command can report a failure when it happens instead of after the whole run. "
             "Wrap options.on_progress in process_files and fill Progress::error from the "
             "result of that image (it is final by then).\n"
          << describe(results);
    }
  }
}

TEST(Files, HugeHeaderIsRefusedBeforeAllocating) {
  const course::TempDir dir("imgfilter");
  write_bytes(dir.file("huge.png"), png_header_claiming(50000, 50000));  // 7.5 GB of RGB
  std::vector<FileResult> results;
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // Under a 2 GiB address-space limit, allocating the pixels would fail with bad_alloc; the
  // header alone must be enough to refuse the file.
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_AS, &old), 0);
  rlimit tight = old;
  tight.rlim_cur = std::min<rlim_t>(old.rlim_cur, rlim_t{2} << 30);
  ASSERT_EQ(::setrlimit(RLIMIT_AS, &tight), 0);
#endif
  results = run_process_files({dir.file("huge.png"), golden_dir() / "inputs" / "rgb_7x5.png"},
                              dir.path() / "out", parse_chain("blur"));
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  ::setrlimit(RLIMIT_AS, &old);
#endif
  ASSERT_EQ(results.size(), 2U);
  EXPECT_NE(results[0].error.find("refused"), std::string::npos) << describe(results);
  EXPECT_TRUE(results[1].ok()) << describe(results);
}

TEST(Files, UnwritableOutputDirectoryFailsEveryFileCleanly) {
  const course::TempDir dir("imgfilter");
  write_bytes(dir.file("plain-file"), "not a directory");
  // Root may write anywhere, but nobody can create a directory inside a regular file.
  const fs::path out = dir.file("plain-file") / "out";
  const std::vector<fs::path> inputs = {golden_dir() / "inputs" / "rgb_7x5.png",
                                        golden_dir() / "inputs" / "l_4x4.png"};
  for (const Mode mode : {Mode::sequential, Mode::images, Mode::tiles}) {
    Options options;
    options.mode = mode;
    options.jobs = 2;
    const auto results = run_process_files(inputs, out, parse_chain("blur"), options);
    ASSERT_EQ(results.size(), inputs.size());
    for (const FileResult& r : results) {
      EXPECT_FALSE(r.ok()) << describe(results);
      EXPECT_NE(r.error.find("plain-file"), std::string::npos)
          << "the error must name the output directory\n"
          << describe(results);
    }
  }
  EXPECT_EQ(files_below(dir.path()), std::vector<std::string>{"plain-file"});
}

TEST(Files, TwoInputsWithOneOutputNameDoNotOverwriteEachOther) {
  const course::TempDir dir("imgfilter");
  fs::create_directories(dir.path() / "a");
  fs::create_directories(dir.path() / "b");
  fs::copy_file(golden_dir() / "inputs" / "rgb_33x17.png", dir.path() / "a" / "cat.png");
  fs::copy_file(golden_dir() / "inputs" / "l_7x5.png", dir.path() / "b" / "cat.png");
  fs::copy_file(golden_dir() / "inputs" / "rgba_5x5.png", dir.path() / "a" / "cat.bmp");
  const std::vector<fs::path> inputs = {dir.path() / "a" / "cat.png", dir.path() / "b" / "cat.png",
                                        dir.path() / "a" / "cat.bmp"};
  Options options;
  options.mode = Mode::images;
  options.jobs = 3;
  // The first input waits until the later ones are done (or 1 s, scaled, when they never start):
  // the rule follows the input order, whichever image happens to be saved first.
  std::mutex mutex;
  std::condition_variable later_done;
  std::set<std::size_t> reported;
  options.on_progress = [&](const Progress& progress) {
    const std::scoped_lock lock(mutex);
    reported.insert(progress.index);
    later_done.notify_all();
  };
  options.hooks.started = [&](const WorkItem& item) {
    if (item.image != 0) return;
    std::unique_lock lock(mutex);
    later_done.wait_for(lock, course::scaled(std::chrono::milliseconds(1000)),
                        [&] { return reported.contains(1) && reported.contains(2); });
  };
  const fs::path out = dir.path() / "out";
  const auto results = run_process_files(inputs, out, parse_chain("blur"), options);
  ASSERT_EQ(results.size(), 3U);
  EXPECT_TRUE(results[0].ok()) << "the first input keeps the name\n" << describe(results);
  for (const std::size_t i : {1, 2}) {
    EXPECT_FALSE(results[i].ok())
        << "a later input with the same output name must fail, not overwrite the first\n"
        << describe(results);
    EXPECT_NE(results[i].error.find("cat"), std::string::npos) << describe(results);
  }
  EXPECT_EQ(imgfilter::load_image(out / "blur_cat.png"),
            apply(imgfilter::load_image(inputs[0]), parse_chain("blur").front()));
  EXPECT_EQ(files_below(out), std::vector<std::string>{"blur_cat.png"});
}

TEST(Files, AFailedSaveLeavesThePreviousOutputAlone) {
  const course::TempDir dir("imgfilter");
  const fs::path out = dir.path() / "out";
  const fs::path input = dir.file("photo.png");
  fs::copy_file(golden_dir() / "inputs" / "rgb_33x17.png", input);
  auto results = run_process_files({input}, out, parse_chain("blur"));
  ASSERT_TRUE(results.at(0).ok()) << describe(results);
  const std::string before = read_bytes(results[0].output);
  // Now the input is corrupt: the output of the first run must stay as it was.
  write_bytes(input, read_bytes(input).substr(0, 40));
  results = run_process_files({input}, out, parse_chain("blur"));
  EXPECT_FALSE(results.at(0).ok()) << describe(results);
  EXPECT_EQ(read_bytes(out / "blur_photo.png"), before);
  EXPECT_EQ(files_below(out), std::vector<std::string>{"blur_photo.png"});
}

}  // namespace
}  // namespace imgfilter::testing
