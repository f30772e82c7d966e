// Helpers shared by the trace's translation units.
#pragma once

#include <chrono>
#include <vector>

#include "course/trace.hpp"

namespace course::detail {

// From the first start to the last end of these tasks; zero when there are none.
std::chrono::nanoseconds span_of(const std::vector<TaskRecord>& tasks);
std::chrono::nanoseconds first_start(const std::vector<TaskRecord>& tasks);

}  // namespace course::detail
