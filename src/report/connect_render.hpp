// Rendering a connect::ConnectReport: aligned text for people, one JSON document for programs.
// Both are views of the same model; neither computes anything the model does not hold.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "connect/report.hpp"

namespace tlslab::report {

enum class Part { All, Handshake, Rest };

// connect_text renders the report (never the response body): all of it, or only the part up to
// the verification verdict (Handshake), or only what follows it (Rest: response, timings).
// connection_shown leaves out the Connection section, already printed by connect_progress.
[[nodiscard]] std::string connect_text(const connect::ConnectReport& report, bool color, Part part = Part::All,
                                       bool connection_shown = false);

// connect_progress renders the Connection section as far as the report has got, for a terminal
// that shows it while connecting: each call's text starts with the previous call's text (rows are
// aligned for the whole section from the first one).
[[nodiscard]] std::string connect_progress(const connect::ConnectReport& report, bool color);

// connect_json renders the report; field names are documented in docs/json.md.
[[nodiscard]] nlohmann::json connect_json(const connect::ConnectReport& report);

}  // namespace tlslab::report
