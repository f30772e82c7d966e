// Kept apart from the HTTP server so that code checking served bytes does not pull it in.
#include <algorithm>
#include <cstring>

#include "course/http_test_server.hpp"

namespace course {

std::uint64_t fnv1a(std::string_view data) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string deterministic_bytes(std::string_view seed, std::size_t n) {
  // splitmix64: fast, and every seed gives a different, well-mixed stream.
  std::uint64_t state = fnv1a(seed);
  std::string bytes(n, '\0');
  for (std::size_t offset = 0; offset < n; offset += sizeof(std::uint64_t)) {
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    std::memcpy(bytes.data() + offset, &z, std::min(sizeof z, n - offset));
  }
  return bytes;
}

}  // namespace course
