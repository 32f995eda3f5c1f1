#include "report/text.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace tlslab::report {
namespace {

const char* code(Tone tone) {
  switch (tone) {
    case Tone::Good:
      return "\x1b[32m";
    case Tone::Bad:
      return "\x1b[1;31m";
    case Tone::Warn:
      return "\x1b[33m";
    case Tone::Dim:
      return "\x1b[2m";
    case Tone::Strong:
      return "\x1b[1m";
    case Tone::Plain:
      break;
  }
  return "";
}

// display_width counts UTF-8 code points, which is what a terminal shows for our text.
size_t display_width(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

bool use_color(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  const char* term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return ::isatty(fd) == 1;
}

Text& Text::heading(std::string_view title) {
  entries_.push_back({Entry::Heading, std::string(title), {}, Tone::Strong, 0, 0});
  return *this;
}

Text& Text::row(std::string_view label, std::string_view value, Tone tone, int level) {
  entries_.push_back({Entry::Row, std::string(label), std::string(value), tone, level, 0});
  return *this;
}

Text& Text::line(std::string_view text, Tone tone, int level) {
  entries_.push_back({Entry::Line, {}, std::string(text), tone, level, 0});
  return *this;
}

Text& Text::min_label_width(std::size_t width) {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
    if (it->kind == Entry::Heading) {
      it->min_width = width;
      break;
    }
  return *this;
}

Text& Text::blank() {
  entries_.push_back({Entry::Blank, {}, {}, Tone::Plain, 0, 0});
  return *this;
}

std::string Text::paint(std::string_view text, Tone tone) const {
  if (!color_ || tone == Tone::Plain) return std::string(text);
  return fmt::format("{}{}\x1b[0m", code(tone), text);
}

std::string Text::str() const {
  std::string out;
  size_t i = 0;
  while (i < entries_.size()) {
    // A section runs from one heading to the next; its rows share one value column per level.
    size_t end = i + 1;
    while (end < entries_.size() && entries_[end].kind != Entry::Heading) ++end;
    size_t width = entries_[i].kind == Entry::Heading ? entries_[i].min_width : 0;
    for (size_t j = i; j < end; ++j)
      if (entries_[j].kind == Entry::Row)
        width = std::max(width, display_width(entries_[j].label) + 2 * static_cast<size_t>(entries_[j].level));
    for (size_t j = i; j < end; ++j) {
      const auto& e = entries_[j];
      std::string indent(2 + 2 * static_cast<size_t>(e.level), ' ');
      switch (e.kind) {
        case Entry::Heading:
          if (!out.empty()) out += '\n';
          out += paint(e.label, Tone::Strong) + '\n';
          break;
        case Entry::Row: {
          auto pad = width - display_width(e.label) - 2 * static_cast<size_t>(e.level);
          // An empty label continues the row above: the value lines up under the previous one.
          out += fmt::format("{}{}{}{} {}\n", indent, e.label, e.label.empty() ? " " : ":", std::string(pad, ' '),
                             paint(e.value, e.tone));
          break;
        }
        case Entry::Line:
          out += indent + paint(e.value, e.tone) + '\n';
          break;
        case Entry::Blank:
          out += '\n';
          break;
      }
    }
    i = end;
  }
  return out;
}

}  // namespace tlslab::report
