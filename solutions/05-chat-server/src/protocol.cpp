// The wire format: lines, messages, names. Plain C++: nothing here knows about sockets.
#include <algorithm>
#include <cctype>

#include "server_internal.hpp"

namespace chat::detail {

namespace {

constexpr std::size_t kMaxContent = kMaxLine - 2;  // room left for the CRLF

bool is_special(char c) { return std::string_view("[]\\`_^{|}").find(c) != std::string_view::npos; }
bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

void LineFramer::feed(std::string_view bytes, std::vector<std::string>& lines) {
  while (!bytes.empty()) {
    const auto newline = bytes.find('\n');
    const auto piece = bytes.substr(0, newline);
    if (!discarding_) {
      // Keep at most kMaxContent + 1 bytes: one more than a line may hold, so that a CR that ends
      // a full-length line is still seen (and dropped below) rather than counted as too long.
      const auto room = kMaxContent + 1 - partial_.size();
      partial_.append(piece.substr(0, room));
      if (piece.size() > room) discarding_ = true;
    }
    if (newline == std::string_view::npos) return;  // the line goes on in the next read
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    if (partial_.size() > kMaxContent) partial_.resize(kMaxContent);
    // NUL and a CR inside a line are forbidden (RFC 2812 2.3.1): the line is dropped, as ngIRCd
    // does, rather than relayed to clients that would cut it there.
    if (partial_.find_first_of(std::string_view("\0\r", 2)) == std::string::npos) {
      lines.push_back(std::move(partial_));
    }
    partial_.clear();
    discarding_ = false;
    bytes.remove_prefix(newline + 1);
  }
  // A line cut while it arrives: whatever follows, up to its LF, is dropped.
  if (partial_.size() > kMaxContent && partial_.back() != '\r') discarding_ = true;
}

std::optional<Message> parse_message(std::string_view line) {
  const auto skip_spaces = [&line] {
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  };
  const auto next_word = [&line] {
    const auto end = std::min(line.find(' '), line.size());
    const auto word = line.substr(0, end);
    line.remove_prefix(end);
    return word;
  };
  skip_spaces();
  if (!line.empty() && line.front() == ':') {  // a prefix: clients may send one; it is ignored
    next_word();
    skip_spaces();
  }
  if (line.empty()) return std::nullopt;
  Message message;
  for (const char c : next_word()) {
    message.command.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  for (skip_spaces(); !line.empty(); skip_spaces()) {
    if (line.front() == ':') {  // the trailing parameter: the rest of the line, spaces included
      message.params.emplace_back(line.substr(1));
      break;
    }
    message.params.emplace_back(next_word());
  }
  return message;
}

std::string fold(std::string_view name) {
  std::string folded(name);
  std::transform(folded.begin(), folded.end(), folded.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return folded;
}

bool valid_nick(std::string_view nick) {
  if (nick.empty() || nick.size() > 16) return false;
  if (!is_letter(nick.front()) && !is_special(nick.front())) return false;
  return std::all_of(nick.begin(), nick.end(), [](char c) {
    return is_letter(c) || is_digit(c) || is_special(c) || c == '-';
  });
}

bool valid_room(std::string_view room) {
  if (room.size() < 2 || room.size() > 50 || room.front() != '#') return false;
  return std::none_of(room.begin() + 1, room.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return c == ' ' || c == ',' || c == ':' || byte < 0x20 || byte == 0x7f;
  });
}

}  // namespace chat::detail
