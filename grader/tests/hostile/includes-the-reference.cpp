// attack: compiles the reference in through a relative #include that climbs out of the exercise
// base: skeleton
// expect-link: 0
#include "../../../../../solutions/00-warmup/src/counter.cpp"
