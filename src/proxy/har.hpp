// HAR 1.2 (the HTTP Archive format browsers' developer tools import) from observed flows.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "proxy/flow.hpp"

namespace tlslab::proxy {

// har_entry renders one flow as a HAR "entries" element. body_cap is the number of bytes of each
// body the flow kept: a body larger than that is marked truncated (without it, a body shorter than
// its byte count is; a redacted body's length is no longer the one it came with).
[[nodiscard]] nlohmann::json har_entry(const Flow& flow, std::optional<std::size_t> body_cap = std::nullopt);

// har_document wraps entries in the HAR log envelope ("creator": tlslab VERSION).
[[nodiscard]] nlohmann::json har_document(const std::vector<nlohmann::json>& entries, const std::string& version);

}  // namespace tlslab::proxy
