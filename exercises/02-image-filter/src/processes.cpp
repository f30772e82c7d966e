// Level 4 (optional): the notes' multiprocessing version. options.jobs worker processes (fork)
// filter the bands of each pass into an output shared through mmap (MAP_SHARED |
// MAP_ANONYMOUS); the parent waits for them (waitpid) before the next pass.
#include <stdexcept>

#include "imgfilter_internal.hpp"

namespace imgfilter::detail {

Image filter_chain_in_processes(const Image& /*image*/, const std::vector<Filter>& /*chain*/,
                                const Options& /*options*/) {
  throw std::logic_error(
      "the processes mode is not implemented yet (optional level 4 of 02-image-filter)");
}

}  // namespace imgfilter::detail
