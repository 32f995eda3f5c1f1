#include "cli/seconds.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <system_error>

#include "base/failure.hpp"

namespace tlslab::cli {

double parse_seconds(std::string_view text, std::string_view option, std::string_view zero_means) {
  auto refuse = [&](std::string_view why) {
    throw Failure(Kind::Usage, fmt::format("{} '{}': {}", option, text, why));
  };
  double value = 0;
  // from_chars takes no sign, spaces or hex prefix for a plain decimal; it does read "nan" and
  // "inf", refused below.
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (!text.empty() && text.front() == '-') refuse("a time limit cannot be negative");
  bool zero_allowed = !zero_means.empty();
  auto range = fmt::format("out of range (0.001 to {:.0f} seconds, one year{}{})", max_seconds,
                           zero_allowed ? "; 0 for " : "", zero_means);
  if (ec == std::errc::result_out_of_range) refuse(range);
  if (ec != std::errc() || end != text.data() + text.size()) refuse("not a number of seconds (e.g. 10 or 2.5)");
  if (std::isnan(value)) refuse("not a number of seconds (e.g. 10 or 2.5)");
  if (value > max_seconds || (value == 0 && !zero_allowed) || (value > 0 && value < 0.001)) refuse(range);
  return value;
}

}  // namespace tlslab::cli
