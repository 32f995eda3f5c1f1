// report::append_access_line, append_error_line, append_notice_line — the lines `tlslab serve`
// logs: the access log in the combined log format (or one JSON object a line with --log-json), the
// error log's "tlslab serve: CLIENT: what" (or JSON), and the server's own notices. Each appends
// one whole line, with its newline, to out, so a caller can reuse one buffer for every line.
#pragma once

#include <ctime>
#include <string>

#include "serve/events.hpp"

namespace tlslab::report {

// append_access_line: `127.0.0.1 - - [28/Nov/2026:21:08:04 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/7.88.1"
// TLSv1.3 TLS_AES_128_GCM_SHA256` and, with a client certificate, its subject in quotes. The
// request line's protocol is nginx's $server_protocol (HTTP/2.0 for HTTP/2). JSON: time, client,
// method, target, status, bytes, referer, user_agent, protocol, sni, tls_version, cipher, resumed,
// client_certificate (null without one).
void append_access_line(std::string& out, const serve::AccessEvent& event, bool json);

// append_error_line: "tlslab serve: 127.0.0.1: sent nothing in 10 s; closed", or JSON: time,
// client, error.
void append_error_line(std::string& out, const serve::ClientError& event, bool json);

// append_notice_line: "tlslab serve: SIGHUP: certificates reloaded; open connections keep theirs"
// (text only, with or without --log-json).
void append_notice_line(std::string& out, const serve::Notice& event);

// clf_time: the access log's time, "28/Nov/2026:21:08:04 +0000" (UTC).
[[nodiscard]] const std::string& clf_time(std::time_t t);

}  // namespace tlslab::report
