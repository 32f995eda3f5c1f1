// report::flow_line, flow_json_line, flow_dump — what `tlslab proxy` prints about one flow: the
// log line (text or JSON) and the --dump block. They render the Flow as given (the caller passes
// the redacted flow with --redact) and compute nothing but the times between its timestamps; a
// time that was never reached (no first byte, no response) is not printed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "proxy/flow.hpp"
#include "proxy/log_event.hpp"
#include "proxy/secrets.hpp"

namespace tlslab::report {

// FlowPlace is where a flow went, as the connection knows it.
struct FlowPlace {
  std::string client;               // "127.0.0.1:50312"
  std::string upstream;             // the real server's address: "127.0.0.1:14600"
  std::optional<proxy::Legs> legs;  // TLS versions and ALPN of both legs; none for plain HTTP
};

// legs_text is "client TLSv1.3 h2, server TLSv1.3 h2, resumed" ("" for none).
[[nodiscard]] std::string legs_text(const std::optional<proxy::Legs>& legs);

// flow_line: `127.0.0.1:50312 www.bank32.com "POST https://www.bank32.com/login" 200 up 30 B, down 189 B,
// 1.2 ms (first byte 1.1 ms)`, or `… "POST https://www.bank32.com/login" no response (cut after 2.1 ms:
// the connection ended before a response)`.
[[nodiscard]] std::string flow_line(const proxy::Flow& flow, const std::string& client);

// flow_json_line: the same as one JSON object (client, host, method, url, status — null without a
// response —, bytes_up, bytes_down, ms, ttfb_ms — null when not reached —, complete, error).
[[nodiscard]] std::string flow_json_line(const proxy::Flow& flow, const std::string& client);

struct DumpOptions {
  bool masked = false;       // --redact: the spotlight shows kMask, not the values
  std::size_t body_cap = 0;  // bytes of each body the flow kept: a larger body is said to be cut
};

// flow_dump: the request and response, headers and text bodies (the first 4 KiB of a response),
// with the secrets spotlighted ("!! form field password = …").
[[nodiscard]] std::string flow_dump(const proxy::Flow& flow, const std::vector<proxy::Secret>& secrets,
                                    const DumpOptions& options, const FlowPlace& place);

}  // namespace tlslab::report
