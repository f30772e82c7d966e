#include "course/background.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <typeinfo>
#include <vector>

namespace course {

std::string describe_exception(const std::exception& error) {
  const char* mangled = typeid(error).name();
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  const std::string type = status == 0 && demangled ? demangled.get() : mangled;
  return type + ": " + error.what();
}

namespace detail {

void park_forever(std::jthread thread) {
  static std::mutex mutex;
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): never destroyed, so never joined at exit
  static auto* const parked = new std::vector<std::jthread>();
  const std::scoped_lock lock(mutex);
  parked->push_back(std::move(thread));
}

}  // namespace detail

}  // namespace course
