// attack: a ScopedFakeTestPartResultReporter, installed at start-up, swallows every failure
// base: skeleton
// expect-link: 0
// expect-runtime: 0
#include <gtest/gtest-spi.h>

namespace {
testing::TestPartResultArray swallowed;
testing::ScopedFakeTestPartResultReporter* const reporter =
    new testing::ScopedFakeTestPartResultReporter(
        testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &swallowed);
}  // namespace
