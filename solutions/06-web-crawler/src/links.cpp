// Level 2: the links of a page, found by a real HTML parser (gumbo), which copes with the broken
// HTML of real pages the way a browser does.
#include <gumbo.h>

#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crawler/crawler.hpp"

namespace crawler {
namespace {

// Frees gumbo's tree when it goes out of scope.
struct GumboOutputDeleter {
  void operator()(GumboOutput* output) const {
    gumbo_destroy_output(&kGumboDefaultOptions, output);
  }
};
using ParsedPage = std::unique_ptr<GumboOutput, GumboOutputDeleter>;

std::string_view trimmed(std::string_view text) {
  // HTML strips ASCII whitespace around an attribute's URL.
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<std::string_view> href_of(const GumboElement& element) {
  const GumboAttribute* href = gumbo_get_attribute(&element.attributes, "href");
  if (href == nullptr) return std::nullopt;
  return trimmed(href->value);
}

// Visits every element in document order (depth first, children in order).
template <class Visit>
void for_each_element(const GumboNode* node, const Visit& visit) {
  if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) return;
  visit(node->v.element);
  const GumboVector& children = node->v.element.children;
  for (unsigned i = 0; i < children.length; ++i) {
    for_each_element(static_cast<const GumboNode*>(children.data[i]), visit);
  }
}

}  // namespace

bool is_html(std::string_view content_type) {
  const std::string_view media = trimmed(content_type.substr(0, content_type.find(';')));
  const auto equals_ignoring_case = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  return equals_ignoring_case(media, "text/html") ||
         equals_ignoring_case(media, "application/xhtml+xml");
}

std::vector<std::string> extract_links(std::string_view html, std::string_view page_url) {
  const ParsedPage page(gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size()));

  // The first <base href> sets the URL that relative links resolve against.
  std::string base(page_url);
  bool base_seen = false;
  std::vector<std::string_view> hrefs;
  for_each_element(page->root, [&](const GumboElement& element) {
    if (element.tag == GUMBO_TAG_BASE && !base_seen) {
      if (const auto href = href_of(element)) {
        base_seen = true;
        try {
          base = resolve_url(page_url, *href);
        } catch (const UrlError&) {
          // A broken <base> is ignored: links resolve against the page itself.
        }
      }
    } else if (element.tag == GUMBO_TAG_A) {
      if (const auto href = href_of(element)) hrefs.push_back(*href);
    }
  });

  std::vector<std::string> links;
  links.reserve(hrefs.size());
  for (const std::string_view href : hrefs) {
    try {
      links.push_back(resolve_url(base, href));
    } catch (const UrlError&) {
      // mailto:, javascript:, malformed: not a page to crawl.
    }
  }
  return links;
}

}  // namespace crawler
