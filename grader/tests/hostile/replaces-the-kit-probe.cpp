// attack: a sequential counter that replaces the kit's OverlapProbe, so every probe forms
// base: none
// expect-link: 0
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "warmup/warmup.hpp"

namespace warmup {
namespace {
std::int64_t count_in_turn(const CountJob& job) {
  for (int worker = 0; worker < job.threads; ++worker) {
    if (job.on_worker_start) job.on_worker_start(worker);
  }
  return job.threads * job.increments_per_thread;
}
}  // namespace
std::int64_t count_unsynchronised(const CountJob& job) { return count_in_turn(job); }
std::int64_t count_with_mutex(const CountJob& job) { return count_in_turn(job); }
std::int64_t count_with_atomic(const CountJob& job) { return count_in_turn(job); }
}  // namespace warmup

// The kit's class, as the student declares it: the same names and signatures, so the same
// mangled symbols, and bodies that make every probe succeed.
namespace course {
class OverlapProbe {
 public:
  class Inside {
   public:
    ~Inside();
    bool wait();
    OverlapProbe* probe_ = nullptr;
  };
  OverlapProbe(std::size_t n, std::chrono::milliseconds timeout);
  Inside enter();
  bool arrive_and_wait();
  bool formed() const;
  bool broken() const;
  std::size_t current() const;
  std::size_t peak() const;
  std::string describe() const;
  void leave();
  bool wait_until_formed();
};
OverlapProbe::OverlapProbe(std::size_t /*n*/, std::chrono::milliseconds /*timeout*/) {}
OverlapProbe::Inside::~Inside() = default;
bool OverlapProbe::Inside::wait() { return true; }
OverlapProbe::Inside OverlapProbe::enter() { return Inside{this}; }
bool OverlapProbe::arrive_and_wait() { return true; }
bool OverlapProbe::formed() const { return true; }
bool OverlapProbe::broken() const { return false; }
std::size_t OverlapProbe::current() const { return 0; }
std::size_t OverlapProbe::peak() const { return 64; }
std::string OverlapProbe::describe() const { return "formed"; }
void OverlapProbe::leave() {}
bool OverlapProbe::wait_until_formed() { return true; }
class PeakCounter {
 public:
  struct Guard {
    ~Guard() {}  // NOLINT: not trivial, so returned in memory as the kit's is
    PeakCounter* counter_;
  };
  Guard enter();
};
PeakCounter::Guard PeakCounter::enter() { return Guard{nullptr}; }
}  // namespace course
