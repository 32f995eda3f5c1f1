// report::Text — builds the aligned "Label: value" text that every command prints for people.
//
// Sections have a heading; rows inside a section align their values in one column. Colour is
// applied only when enabled (a TTY without NO_COLOR), so the same text goes to files and pipes
// without escape codes.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlslab::report {

enum class Tone { Plain, Good, Bad, Warn, Dim, Strong };

// use_color tells whether stream fd should get colours: a TTY, NO_COLOR unset, TERM not "dumb".
[[nodiscard]] bool use_color(int fd);

class Text {
 public:
  explicit Text(bool color) : color_(color) {}

  // heading starts a new section.
  Text& heading(std::string_view title);
  // row adds "label: value" indented by level (0 = under the heading); values of one section align.
  Text& row(std::string_view label, std::string_view value, Tone tone = Tone::Plain, int level = 0);
  // line adds free text at the given indent level (continuation lines, explanations).
  Text& line(std::string_view text, Tone tone = Tone::Plain, int level = 0);
  Text& blank();
  // min_label_width makes the current section's value column start no further left than labels
  // of width characters would put it (for text printed a row at a time).
  Text& min_label_width(std::size_t width);

  // paint wraps text in the tone's colour when colours are on.
  [[nodiscard]] std::string paint(std::string_view text, Tone tone) const;

  // str renders everything added so far.
  [[nodiscard]] std::string str() const;

 private:
  struct Entry {
    enum { Heading, Row, Line, Blank } kind;
    std::string label;
    std::string value;
    Tone tone;
    int level;
    std::size_t min_width = 0;  // Heading: see min_label_width
  };
  bool color_;
  std::vector<Entry> entries_;
};

}  // namespace tlslab::report
