// report::render_proxy_log — `tlslab proxy`'s log, rendered from its events (proxy::LogEvent): where
// each one goes (stdout for what the traffic did, stderr for errors and notes) and its text, as a
// line for people or, with --log-json, a JSON object. Flow lines and the --dump block come from
// flow_render. Lines about the connection's bytes, --show-forgery and the closing counts are text
// in both styles, as they have always been.
#pragma once

#include <string>

#include "proxy/log_event.hpp"

namespace tlslab::report {

enum class LogStream { Out, Err };

// LogOutput is what one event prints: text to write at once, followed by a newline.
struct LogOutput {
  LogStream stream = LogStream::Out;
  std::string text;
};

struct ProxyLogStyle {
  bool json = false;  // --log-json
  bool dump = false;  // --dump: a flow's line is followed by its request and response
};

[[nodiscard]] LogOutput render_proxy_log(const proxy::LogEvent& event, const ProxyLogStyle& style);

// forgery_text shows the real certificate (if any) and the forgery made for host, for --show-forgery.
[[nodiscard]] std::string forgery_text(const proxy::log_event::ForgeryShown& shown);

}  // namespace tlslab::report
