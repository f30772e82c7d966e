# Exercise 04 is a class template the student writes in a header (src/cache.hpp), so its tests
# compile once per implementation against that implementation's headers (see
# common/cmake/CourseExercise.cmake).
set(EXERCISE_HEADER_ONLY ON)
