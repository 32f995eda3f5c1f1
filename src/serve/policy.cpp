#include "serve/policy.hpp"

#include <fmt/format.h>

namespace tlslab::serve {

std::chrono::milliseconds ConnectionTimer::timeout(Phase phase, const Limits& limits) {
  switch (phase) {
    case Phase::Handshake:
      return limits.handshake_timeout;
    case Phase::FirstRequest:
    case Phase::Header:
      return limits.header_timeout;
    case Phase::Idle:
      return limits.idle_timeout;
    case Phase::Body:
      return limits.request_timeout;
    case Phase::Write:
      return limits.write_timeout;
    case Phase::Linger:
      return kLingerTime;
    case Phase::Http2:
      break;
  }
  return {};
}

bool ConnectionTimer::set(Phase phase, Time when) {
  phase_ = phase;
  deadline_ = when;
  timed_out_ = false;
  if (deadline_ >= armed_) return false;
  armed_ = deadline_;
  return true;
}

ConnectionTimer::Fired ConnectionTimer::fired(Time now) {
  if (now < deadline_) {
    armed_ = deadline_;
    return Fired::Rearm;
  }
  armed_ = Time::max();
  timed_out_ = true;
  return Fired::Expired;
}

std::string seconds_text(std::chrono::milliseconds d) { return fmt::format("{:g} s", d.count() / 1000.0); }

bool looks_like_plain_http(std::string_view first_bytes) {
  auto method_end = first_bytes.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  return method_end >= 3 && (method_end == std::string_view::npos || first_bytes[method_end] == ' ');
}

std::string first_read_failure(End end, const Limits& limits, std::string_view words) {
  switch (end) {
    case End::TimedOut:
      return fmt::format("sent nothing in {}; closed", seconds_text(limits.handshake_timeout));
    case End::Failed:
      return fmt::format("connection failed before the TLS handshake: {}", words);
    case End::Closed:
      break;
  }
  return "closed the connection without sending anything";
}

std::string handshake_failure(End end, std::string_view first_bytes, const Limits& limits, std::string_view words) {
  if (end == End::TimedOut)
    return fmt::format("TLS handshake not complete in {}; closed", seconds_text(limits.handshake_timeout));
  if (end == End::Closed) return "closed the connection during the TLS handshake";
  // RFC 5246 appendix E.2: a two-byte length with the high bit set, then message type 1.
  bool sslv2 = !first_bytes.empty() && (first_bytes[0] & 0x80) != 0 && first_bytes.size() > 2 && first_bytes[2] == 1;
  if (sslv2) return fmt::format("SSLv2-format ClientHello refused: {}", words);
  if (first_bytes.empty() || first_bytes[0] != 0x16)
    return fmt::format("not TLS (the first bytes are no TLS record; OpenSSL said: {}); closed", words);
  return fmt::format("TLS handshake failed: {}", words);
}

std::optional<std::string> wait_failure(End end, bool first, const Limits& limits, std::string_view words) {
  if (end == End::TimedOut && first)
    return fmt::format("sent no request in {}; closed", seconds_text(limits.header_timeout));
  if (end == End::Failed) return fmt::format("waiting for a request: {}", words);
  return std::nullopt;
}

std::optional<std::string> http2_read_failure(End end, std::string_view words) {
  if (end == End::Closed) return std::nullopt;
  return fmt::format("HTTP/2: {}", words);
}

Refusal refuse(ReadFailure why, bool header, const Limits& limits, std::string_view words) {
  switch (why) {
    case ReadFailure::HeaderTooLarge:
      return {
          http::error_reply(431, fmt::format("the request header is larger than {} bytes", limits.max_header_bytes)),
          fmt::format("request header larger than {} bytes; answered 431", limits.max_header_bytes)};
    case ReadFailure::BodyTooLarge:
      return {http::error_reply(413, fmt::format("the request body is larger than {} bytes", limits.max_body_bytes)),
              fmt::format("request body larger than {} bytes; answered 413", limits.max_body_bytes)};
    case ReadFailure::TimedOut:
      return {http::error_reply(408),
              fmt::format("request {} not complete in {}; answered 408", header ? "header" : "body",
                          seconds_text(header ? limits.header_timeout : limits.request_timeout))};
    case ReadFailure::Closed:
      return {std::nullopt,
              fmt::format("closed the connection in the middle of a request {}", header ? "header" : "body")};
    case ReadFailure::Malformed:
      return {http::error_reply(400, fmt::format("malformed request: {}", words)),
              fmt::format("malformed request ({}); answered 400", words)};
    case ReadFailure::Failed:
      break;
  }
  return {std::nullopt, fmt::format("reading a request: {}", words)};
}

std::string response_failure(End end, std::uint64_t sent, std::uint64_t length, const Limits& limits) {
  if (end == End::TimedOut) return fmt::format("response not taken in {}; closed", seconds_text(limits.write_timeout));
  return fmt::format("closed the connection during the response ({} of {} body bytes sent)", sent, length);
}

}  // namespace tlslab::serve
