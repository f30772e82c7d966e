// Level 1 (files): output names and process_files. Read ../README.md first.
#include <stdexcept>
#include <string>

#include "imgfilter_internal.hpp"

namespace imgfilter {

std::string output_name(const std::vector<Filter>& /*chain*/,
                        const std::filesystem::path& /*input*/) {
  throw std::logic_error("output_name is not implemented yet (level 1 of 02-image-filter)");
}

// Load with imgfilter::load_image, filter with detail::filter_chain, save with imgfilter::save_png
// (atomic), each image through detail::for_each_image; catch each file's error into its result.
std::vector<FileResult> process_files(const std::vector<std::filesystem::path>& /*inputs*/,
                                      const std::filesystem::path& /*out_dir*/,
                                      const std::vector<Filter>& /*chain*/,
                                      const Options& /*options*/) {
  throw std::logic_error("process_files is not implemented yet (level 1 of 02-image-filter)");
}

}  // namespace imgfilter
