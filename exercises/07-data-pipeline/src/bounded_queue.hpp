// Exercise 07, level 1: a bounded blocking queue, the notes' queue.Queue(maxsize). Your file:
// read ../README.md first.
//
// One mutex guards the items; two condition variables say "there is room" and "there is an item
// (or the queue closed)". Keep the class name and the public member functions: the tests, your
// pipeline and the benchmark use them. Add private members as you like.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>

namespace logpipe {

template <class T>
class BoundedQueue {
 public:
  // Throws std::invalid_argument for a capacity of 0.
  explicit BoundedQueue(std::size_t /*capacity*/) {}
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Waits for room, then adds the item at the back. Returns false (and drops the item) if the
  // queue is closed, or closes, or `stop` is triggered before there is room.
  bool push(T /*item*/, const std::stop_token& /*stop*/ = {}) { not_implemented("push"); }

  // Waits for an item and takes the oldest. Returns std::nullopt once the queue is closed and
  // empty (every item pushed before close() comes out first), or as soon as `stop` is triggered,
  // even if items are left.
  std::optional<T> pop(const std::stop_token& /*stop*/ = {}) { not_implemented("pop"); }

  // Ends the stream and wakes every waiting pusher and popper.
  void close() { not_implemented("close"); }

  bool closed() const { not_implemented("closed"); }
  std::size_t size() const { not_implemented("size"); }
  std::size_t capacity() const { not_implemented("capacity"); }
  // The most items the queue ever held at once.
  std::size_t peak_size() const { not_implemented("peak_size"); }

 private:
  [[noreturn]] static void not_implemented(const char* what) {
    throw std::logic_error(std::string("BoundedQueue::") + what +
                           " is not implemented yet (level 1 of 07-data-pipeline)");
  }
};

}  // namespace logpipe
