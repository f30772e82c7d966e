// Level 2: the links of a page, found by a real HTML parser (libxml2's, the one under lxml and so
// Scrapy), which copes with the broken HTML of real pages. Hostile pages are the reason for this
// choice: it parses in linear time and stops a deep nesting, where an HTML5 tree builder (gumbo)
// took 6 s and 790 MB for 30 KB of unclosed <b>.
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cctype>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "crawler/crawler.hpp"

namespace crawler {
namespace {

// Frees libxml2's parser and tree when they go out of scope.
struct ParserDeleter {
  void operator()(htmlParserCtxt* parser) const { htmlFreeParserCtxt(parser); }
};
struct DocumentDeleter {
  void operator()(xmlDoc* document) const { xmlFreeDoc(document); }
};
using Parser = std::unique_ptr<htmlParserCtxt, ParserDeleter>;
using ParsedPage = std::unique_ptr<xmlDoc, DocumentDeleter>;

std::string_view trimmed(std::string_view text) {
  // HTML strips ASCII whitespace around an attribute's URL.
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool named(const xmlNode& element, const char* name) {
  return xmlStrcasecmp(element.name, reinterpret_cast<const xmlChar*>(name)) == 0;
}

// The element's href, trimmed; nullopt when it has none.
std::optional<std::string> href_of(const xmlNode& element) {
  xmlChar* value = xmlGetProp(&element, reinterpret_cast<const xmlChar*>("href"));
  if (value == nullptr) return std::nullopt;
  std::string href(trimmed(reinterpret_cast<const char*>(value)));
  xmlFree(value);
  return href;
}

// libxml2 sets up its global state on first use, and two threads must not do that at once: its
// manual asks for xmlInitParser() once, before any thread parses. A function-local static is
// initialised exactly once, and the other threads wait for it.
void initialise_libxml2_once() {
  static const bool initialised = [] {
    xmlInitParser();
    return true;
  }();
  (void)initialised;
}

// Visits every element in document order with its depth (1 for <html>), with an explicit stack
// rather than recursion: a tree as deep as the page's nesting must not overflow the thread's
// stack, whatever the parser's limit.
template <class Visit>
void for_each_element(xmlNode* document, const Visit& visit) {
  struct Pending {
    xmlNode* node;
    std::size_t depth;  // elements from the root down to this node, itself included
  };
  std::vector<Pending> stack{{document, 0}};
  while (!stack.empty()) {
    const Pending pending = stack.back();
    stack.pop_back();
    if (pending.node->type == XML_ELEMENT_NODE) visit(*pending.node, pending.depth);
    // Children pushed last to first, so that the first is visited first.
    for (xmlNode* child = pending.node->last; child != nullptr; child = child->prev) {
      const bool is_element = child->type == XML_ELEMENT_NODE;
      stack.push_back({child, pending.depth + (is_element ? 1 : 0)});
    }
  }
}

HtmlError too_deep() {
  return HtmlError("page nested deeper than " + std::to_string(kMaxHtmlDepth) + " elements");
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
  // No network, no error output; RECOVER parses broken HTML as far as it goes. The encoding is
  // left to the page (a <meta charset>), as a browser does.
  const int flags = HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                    HTML_PARSE_NOWARNING | HTML_PARSE_NOBLANKS | HTML_PARSE_COMPACT;
  initialise_libxml2_once();
  const Parser parser(htmlNewParserCtxt());
  if (!parser) throw std::bad_alloc();
  const ParsedPage page(htmlCtxtReadMemory(parser.get(), html.data(), static_cast<int>(html.size()),
                                           std::string(page_url).c_str(), nullptr, flags));
  // libxml2 stops a little past 256 open elements (an internal error), and the rest of the page
  // is lost: the page is refused rather than crawled in part without a word.
  if (const xmlError* error = xmlCtxtGetLastError(parser.get());
      error != nullptr && error->code == XML_ERR_INTERNAL_ERROR) {
    throw too_deep();
  }
  if (!page) return {};  // nothing that looks like a document: no links

  // The first <base href> sets the URL that relative links resolve against.
  std::string base(page_url);
  bool base_seen = false;
  std::vector<std::string> hrefs;
  const auto visit = [&](const xmlNode& element, std::size_t depth) {
    // The parser's own limit lets a few more elements through; the statement's limit is exact.
    if (depth > kMaxHtmlDepth) throw too_deep();
    if (named(element, "base") && !base_seen) {
      if (const auto href = href_of(element)) {
        base_seen = true;
        try {
          base = resolve_url(page_url, *href);
        } catch (const UrlError&) {
          // A broken <base> is ignored: links resolve against the page itself.
        }
      }
    } else if (named(element, "a")) {
      if (auto href = href_of(element)) hrefs.push_back(std::move(*href));
    }
  };
  for_each_element(reinterpret_cast<xmlNode*>(page.get()), visit);

  std::vector<std::string> links;
  links.reserve(hrefs.size());
  for (const std::string& href : hrefs) {
    try {
      links.push_back(resolve_url(base, href));
    } catch (const UrlError&) {
      // mailto:, javascript:, malformed: not a page to crawl.
    }
  }
  return links;
}

}  // namespace crawler
