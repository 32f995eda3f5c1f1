// Small text helpers shared by every module.
#pragma once

#include <string>
#include <string_view>

namespace tlslab {

// ascii_lower lowers A-Z only, whatever the locale: host names, header names, algorithm names.
[[nodiscard]] inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace tlslab
