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

// ascii_upper raises a-z only, whatever the locale.
[[nodiscard]] inline std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

}  // namespace tlslab
