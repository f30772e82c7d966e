// A small, strict XML reader for the reporter tests: it accepts only well-formed XML 1.0 of the
// kind the JUnit reporter writes (prolog, elements, attributes, text, the five predefined entities
// and character references) and throws on anything else, including invalid UTF-8 and characters
// XML forbids. Returns a tree so tests can check structure and counts.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace grader::testing {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<std::unique_ptr<XmlElement>> children;
  std::string text;  // character data directly inside, concatenated

  [[nodiscard]] std::vector<const XmlElement*> all(std::string_view child_name) const {
    std::vector<const XmlElement*> found;
    for (const auto& c : children) {
      if (c->name == child_name) found.push_back(c.get());
    }
    return found;
  }
  [[nodiscard]] const XmlElement* first(std::string_view child_name) const {
    const auto found = all(child_name);
    return found.empty() ? nullptr : found.front();
  }
  [[nodiscard]] std::string attribute(const std::string& key) const {
    const auto it = attributes.find(key);
    if (it == attributes.end())
      throw std::runtime_error("missing attribute " + key + " on " + name);
    return it->second;
  }
};

class XmlReader {
 public:
  explicit XmlReader(std::string_view text) : text_(text) {}

  std::unique_ptr<XmlElement> document() {
    check_characters();
    if (text_.substr(0, 5) == "<?xml") {
      const auto end = text_.find("?>");
      if (end == std::string_view::npos) fail("unterminated XML declaration");
      pos_ = end + 2;
    }
    skip_space();
    auto root = element();
    skip_space();
    if (pos_ != text_.size()) fail("content after the root element");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("not well-formed XML at byte " + std::to_string(pos_) + ": " + what);
  }

  static bool allowed(std::uint32_t cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
  }

  // Decodes the whole document as UTF-8 and checks every code point is an XML Char.
  void check_characters() {
    std::size_t i = 0;
    while (i < text_.size()) {
      const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text_[i + k]); };
      const auto bad = [&](const char* what) {
        pos_ = i;
        fail(what);
      };
      std::size_t length = 1;
      std::uint32_t cp = b(0);
      if (b(0) >= 0x80) {
        if ((b(0) & 0xE0) == 0xC0) {
          length = 2;
        } else if ((b(0) & 0xF0) == 0xE0) {
          length = 3;
        } else if ((b(0) & 0xF8) == 0xF0) {
          length = 4;
        } else {
          bad("invalid UTF-8 lead byte");
        }
        cp = b(0) & (0x7FU >> length);
      }
      if (i + length > text_.size()) bad("truncated UTF-8");
      for (std::size_t k = 1; k < length; ++k) {
        if ((b(k) & 0xC0) != 0x80) bad("invalid UTF-8 continuation");
        cp = (cp << 6) | (b(k) & 0x3F);
      }
      const std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < min_for_length[length]) bad("overlong UTF-8");
      if (!allowed(cp)) bad("character not allowed in XML");
      i += length;
    }
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           std::string_view(" \t\r\n").find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
    }
  }

  bool at(std::string_view s) const { return text_.substr(pos_, s.size()) == s; }

  void expect(std::string_view s) {
    if (!at(s)) fail("expected '" + std::string(s) + "'");
    pos_ += s.size();
  }

  std::string name() {
    const auto start = pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                      (pos_ > start && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
      if (!ok) break;
      ++pos_;
    }
    if (pos_ == start) fail("expected a name");
    return std::string(text_.substr(start, pos_ - start));
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // At '&': appends the entity's character.
  void reference(std::string& out) {
    const auto end = text_.find(';', pos_);
    if (end == std::string_view::npos) fail("unterminated reference");
    const std::string_view ref = text_.substr(pos_ + 1, end - pos_ - 1);
    static const std::map<std::string_view, char> named = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    if (const auto it = named.find(ref); it != named.end()) {
      out += it->second;
    } else if (ref.size() > 1 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      const std::string digits(ref.substr(hex ? 2 : 1));
      if (digits.empty()) fail("empty character reference");
      std::size_t used = 0;
      const auto cp = static_cast<std::uint32_t>(std::stoul(digits, &used, hex ? 16 : 10));
      if (used != digits.size() || !allowed(cp)) fail("bad character reference");
      append_utf8(out, cp);
    } else {
      fail("unknown entity &" + std::string(ref) + ";");
    }
    pos_ = end + 1;
  }

  std::string attribute_value() {
    if (pos_ >= text_.size() || (text_[pos_] != '"' && text_[pos_] != '\'')) {
      fail("attribute value must be quoted");
    }
    const char quote = text_[pos_++];
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      const char c = text_[pos_];
      if (c == '<') fail("'<' inside an attribute value");
      if (c == '&') {
        reference(value);
      } else {
        value += c;
        ++pos_;
      }
    }
    expect(std::string_view(&quote, 1));
    return value;
  }

  std::unique_ptr<XmlElement> element() {
    expect("<");
    auto e = std::make_unique<XmlElement>();
    e->name = name();
    for (;;) {
      const auto before = pos_;
      skip_space();
      if (at("/>")) {
        pos_ += 2;
        return e;
      }
      if (at(">")) {
        ++pos_;
        break;
      }
      if (pos_ == before) fail("expected whitespace before an attribute");
      const std::string key = name();
      skip_space();
      expect("=");
      skip_space();
      if (!e->attributes.emplace(key, attribute_value()).second) fail("duplicate attribute " + key);
    }
    content(*e);
    return e;
  }

  void content(XmlElement& e) {
    while (pos_ < text_.size()) {
      if (at("</")) {
        pos_ += 2;
        if (name() != e.name) fail("mismatched end tag for <" + e.name + ">");
        skip_space();
        expect(">");
        return;
      }
      if (at("<![CDATA[") || at("<!--") || at("<?")) fail("unexpected markup");
      if (at("<")) {
        e.children.push_back(element());
      } else if (at("&")) {
        reference(e.text);
      } else {
        if (at("]]>")) fail("']]>' in character data");
        e.text += text_[pos_++];
      }
    }
    fail("unterminated element <" + e.name + ">");
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

inline std::unique_ptr<XmlElement> parse_xml(std::string_view text) {
  return XmlReader(text).document();
}

}  // namespace grader::testing
