// scan::grade — the letter grade of a scan, its reasons and recommendations (pure; the rubric is
// documented in docs/scan.md).
#pragma once

#include <cstdint>

#include "scan/model.hpp"

namespace tlslab::scan {

// grade rates report as of now (epoch seconds, for certificate dates).
[[nodiscard]] Grade grade(const ScanReport& report, std::int64_t now);

// letter_for_score maps a 0..100 score to A..F (A >= 80, B >= 65, C >= 50, D >= 35, E >= 20).
[[nodiscard]] std::string letter_for_score(int score);

}  // namespace tlslab::scan
