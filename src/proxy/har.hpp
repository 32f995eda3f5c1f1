// HAR 1.2 (the HTTP Archive format browsers' developer tools import) from observed flows.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "proxy/flow.hpp"

namespace tlslab::proxy {

// har_entry renders one flow as a HAR "entries" element.
[[nodiscard]] nlohmann::json har_entry(const Flow& flow);

// har_document wraps entries in the HAR log envelope ("creator": tlslab VERSION).
[[nodiscard]] nlohmann::json har_document(const std::vector<nlohmann::json>& entries, const std::string& version);

}  // namespace tlslab::proxy
