// Time limits given on the command line (--connect-timeout, --max-time, scan's --timeout).
#pragma once

#include <string_view>

namespace tlslab::cli {

// The longest limit accepted: one year. Anything longer is a typo or a way of saying "no limit"
// (which is 0 where a command allows it), and far beyond it a duration no longer fits the
// clock's 64-bit nanoseconds (1e308 seconds once became a limit in the past: it fired at once).
inline constexpr double max_seconds = 365.0 * 24 * 3600;

// parse_seconds reads a decimal number of seconds ("2", "0.5", "1e3") given to option. NaN,
// infinities, negative numbers, trailing text and values above max_seconds are refused with
// Failure{Usage} naming the option and the value. 0 is accepted only when zero_means says what it
// means ("no limit", "the default"); "" refuses it.
[[nodiscard]] double parse_seconds(std::string_view text, std::string_view option, std::string_view zero_means);

}  // namespace tlslab::cli
