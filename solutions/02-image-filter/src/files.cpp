// Level 1 (files): output names and process_files, where one bad file never stops the others and
// every output appears atomically.
#include <exception>
#include <map>
#include <string>
#include <system_error>

#include "imgfilter_internal.hpp"

namespace imgfilter {
namespace {

// Only [A-Za-z0-9._-] survive, and no name starts with '.', so it cannot leave out_dir or hide.
std::string safe_component(std::string text) {
  for (char& c : text) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    if (!keep) c = '_';
  }
  if (!text.empty() && text.front() == '.') text.front() = '_';
  return text;
}

FileResult process_one(const std::filesystem::path& input, const std::filesystem::path& out_dir,
                       const std::vector<Filter>& chain, const Options& options, std::size_t i) {
  FileResult result{.input = input, .output = {}, .error = {}};
  try {
    const Image image = imgfilter::load_image(input);
    const Image filtered = detail::filter_chain(image, chain, options, i);
    const std::filesystem::path output = out_dir / output_name(chain, input);
    imgfilter::save_png(filtered, output);
    result.output = output;
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  return result;
}

// Every input fails with the same reason (nothing can be written).
std::vector<FileResult> every_input_failed(const std::vector<std::filesystem::path>& inputs,
                                           const std::string& reason) {
  std::vector<FileResult> results;
  for (const auto& input : inputs) results.push_back(FileResult{input, {}, reason});
  return results;
}

// Two inputs with one output name (cat.png and cat.jpg) would overwrite each other: the first
// one keeps the name and the later ones fail, before any work starts. Returns which failed.
std::vector<bool> refuse_shared_output_names(const std::vector<std::filesystem::path>& inputs,
                                             const std::vector<Filter>& chain,
                                             std::vector<FileResult>& results) {
  std::vector<bool> duplicate(inputs.size(), false);
  std::map<std::string, std::size_t> first_with_name;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = output_name(chain, inputs[i]);
    const auto [it, inserted] = first_with_name.emplace(name, i);
    if (inserted) continue;
    duplicate[i] = true;
    results[i] = FileResult{inputs[i],
                            {},
                            "'" + inputs[i].string() + "' would be written to " + name +
                                ", like '" + inputs[it->second].string() + "': skipped"};
  }
  return duplicate;
}

// The caller's options, with a progress callback that carries each image's error, so that a
// caller can report a failure as it happens. The result of image i is final before its progress
// is reported, by the same thread.
Options reporting_errors(const Options& options, const std::vector<FileResult>& results) {
  Options reporting = options;
  if (options.on_progress) {
    reporting.on_progress = [&options, &results](const Progress& progress) {
      Progress with_error = progress;
      with_error.error = results[progress.index].error;
      options.on_progress(with_error);
    };
  }
  return reporting;
}

// An input that a stop request kept from starting has no result yet: say so.
void mark_not_started(const std::vector<std::filesystem::path>& inputs,
                      std::vector<FileResult>& results) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (results[i].input.empty() && results[i].error.empty()) {
      results[i] = FileResult{inputs[i], {}, "cancelled before it started"};
    }
  }
}

}  // namespace

std::string output_name(const std::vector<Filter>& chain, const std::filesystem::path& input) {
  std::string name;
  for (const Filter& filter : chain) name += name_of(filter) + "_";
  std::string stem = input.stem().string();
  if (stem.empty() || stem == "." || stem == "..") stem = "image";
  return safe_component(name + stem) + ".png";
}

std::vector<FileResult> process_files(const std::vector<std::filesystem::path>& inputs,
                                      const std::filesystem::path& out_dir,
                                      const std::vector<Filter>& chain, const Options& options) {
  detail::check(options);
  for (const Filter& filter : chain) detail::check(filter);
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) {
    // Nothing can be written: every file fails with the reason, none is filtered for nothing.
    return every_input_failed(inputs, "cannot create the output directory '" + out_dir.string() +
                                          "': " + error.message());
  }
  std::vector<FileResult> results(inputs.size());
  const std::vector<bool> duplicate = refuse_shared_output_names(inputs, chain, results);
  detail::for_each_image(inputs.size(), reporting_errors(options, results), [&](std::size_t i) {
    if (!duplicate[i]) results[i] = process_one(inputs[i], out_dir, chain, options, i);
  });
  mark_not_started(inputs, results);
  return results;
}

}  // namespace imgfilter
