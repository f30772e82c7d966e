// Exercise 07, level 1: a bounded blocking queue, the notes' queue.Queue(maxsize).
//
// One mutex guards the items; two condition variables say "there is room" (pushers wait on it)
// and "there is an item, or the queue closed" (poppers wait on it). Every wait re-checks its
// condition in a loop (a wait may wake spuriously, or another thread may have taken the item
// first), and every wait also ends when its stop token is triggered: a cancelled pipeline must
// never leave a thread blocked here.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <utility>

namespace logpipe {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("BoundedQueue: capacity must be at least 1");
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Waits for room, then adds the item. False (and the item is dropped) if the queue is closed,
  // or closes, or `stop` is triggered before there is room.
  bool push(T item, const std::stop_token& stop = {}) {
    std::unique_lock lock(mutex_);
    // wait() with a stop token loops on the predicate itself and returns early on a stop.
    has_room_.wait(lock, stop, [this] { return closed_ || items_.size() < capacity_; });
    if (closed_ || stop.stop_requested()) return false;
    items_.push_back(std::move(item));
    peak_ = std::max(peak_, items_.size());
    lock.unlock();
    has_item_.notify_one();  // one item: one popper can take it
    return true;
  }

  // Waits for an item and takes the oldest. std::nullopt once the queue is closed and empty
  // (the end of the stream: the items pushed before close() all come out first), or as soon as
  // `stop` is triggered.
  std::optional<T> pop(const std::stop_token& stop = {}) {
    std::unique_lock lock(mutex_);
    has_item_.wait(lock, stop, [this] { return closed_ || !items_.empty(); });
    if (stop.stop_requested() || items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    lock.unlock();
    has_room_.notify_one();  // one slot freed: one pusher can use it
    return item;
  }

  // Ends the stream: pushers fail from now on, poppers drain what is left and then get
  // std::nullopt. Every waiter must wake, so this notifies all of them, on both conditions.
  void close() {
    {
      const std::scoped_lock lock(mutex_);
      closed_ = true;
    }
    has_item_.notify_all();
    has_room_.notify_all();
  }

  bool closed() const {
    const std::scoped_lock lock(mutex_);
    return closed_;
  }
  std::size_t size() const {
    const std::scoped_lock lock(mutex_);
    return items_.size();
  }
  std::size_t capacity() const { return capacity_; }
  // The most items the queue ever held at once.
  std::size_t peak_size() const {
    const std::scoped_lock lock(mutex_);
    return peak_;
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable_any has_room_;
  std::condition_variable_any has_item_;
  std::deque<T> items_;
  std::size_t peak_ = 0;
  bool closed_ = false;
};

}  // namespace logpipe
