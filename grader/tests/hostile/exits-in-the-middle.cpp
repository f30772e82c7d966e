// attack: every function ends the process with status 0 in the middle of the test that calls it
// base: none
// expect-link: 0
// expect-runtime: 0
#include <cstdlib>

#include "warmup/warmup.hpp"

namespace warmup {

std::int64_t count_unsynchronised(const CountJob& /*job*/) { std::exit(0); }
std::int64_t count_with_mutex(const CountJob& /*job*/) { std::exit(0); }
std::int64_t count_with_atomic(const CountJob& /*job*/) { std::quick_exit(0); }

}  // namespace warmup
