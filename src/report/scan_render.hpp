// Rendering a scan::ScanReport for people (aligned text) and programs (JSON; fields in docs/scan.md).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "scan/model.hpp"

namespace tlslab::report {

[[nodiscard]] std::string scan_text(const scan::ScanReport& report, bool color, std::int64_t now);
[[nodiscard]] nlohmann::json scan_json(const scan::ScanReport& report, std::int64_t now);

}  // namespace tlslab::report
