// serve's connection policy, without I/O: which deadline applies now, what a client's first bytes
// are, how each way a request or a connection can fail is answered (the status) and logged (the
// sentence), whether a connection is kept alive. net/server.cpp does the I/O and asks these.
//
// Time is given by the caller (now), so every timeout is a unit test.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/site.hpp"
#include "serve/limits.hpp"

namespace tlslab::serve {

using Clock = std::chrono::steady_clock;
using Time = Clock::time_point;

// After an error response, what the client still sends is read and dropped (at most kLingerBytes,
// for at most kLingerTime): closing with unread bytes makes the kernel send a reset, which can
// destroy the response before the client reads it (RFC 9112 section 9.6).
inline constexpr std::size_t kLingerBytes = 256 * 1024;
inline constexpr std::chrono::milliseconds kLingerTime{2000};

// Phase: what a connection waits for now, which says which timeout applies.
enum class Phase {
  Handshake,     // the client's first bytes and the TLS handshake: handshake_timeout
  FirstRequest,  // the first request to begin: header_timeout
  Idle,          // a keep-alive connection, for its next request: idle_timeout
  Header,        // the rest of a request's header: header_timeout
  Body,          // the rest of a request's body: request_timeout
  Write,         // one write of the response: write_timeout
  Linger,        // after an error response, dropping what the client still sends: kLingerTime
  Http2,         // HTTP/2: the deadline its server (serve::H2Server) names
};

// ConnectionTimer is the one deadline a connection has at a time, and the one timer enforcing it.
// Each step sets the deadline that applies from then on; the timer is only set again when the new
// deadline is earlier than the time it fires at (a later deadline costs only a store: when the
// timer fires early, fired() says to set it again):
//
//   handshake ─> wait_for_request ─> read(Header) ─> read(Body) ─> write ... ─> wait_for_request (Idle)
//                     (FirstRequest)                                      └──> linger (after an error reply)
//
// A part of a request (header, body) gets its deadline from the first read that has to wait for
// it; later reads of the same part keep it, so a client trickling bytes gains no time.
class ConnectionTimer {
 public:
  explicit ConnectionTimer(const Limits& limits) : limits_(limits) {}

  // The steps. Each returns true when the timer must be set to deadline() now.
  [[nodiscard]] bool handshake(Time now) { return enter(Phase::Handshake, now); }
  [[nodiscard]] bool wait_for_request(Time now) { return enter(first_ ? Phase::FirstRequest : Phase::Idle, now); }
  // read: a read must wait for more of the request's part (Header or Body).
  [[nodiscard]] bool read(Phase part, Time now) { return phase_ == part ? false : enter(part, now); }
  [[nodiscard]] bool write(Time now) { return enter(Phase::Write, now); }
  [[nodiscard]] bool linger(Time now) { return enter(Phase::Linger, now); }
  [[nodiscard]] bool until(Time when) { return set(Phase::Http2, when); }
  // answered: a request was answered; the next wait is for a keep-alive request (idle_timeout).
  void answered() { first_ = false; }

  enum class Fired {
    Expired,  // the deadline passed: end the step under way (timed_out() is true until the next step)
    Rearm,    // the deadline moved on since the timer was set: set it to deadline()
  };
  // fired: the timer went off at now.
  [[nodiscard]] Fired fired(Time now);

  [[nodiscard]] Time deadline() const { return deadline_; }
  [[nodiscard]] Phase phase() const { return phase_; }
  [[nodiscard]] bool timed_out() const { return timed_out_; }
  [[nodiscard]] bool first() const { return first_; }  // no request answered yet

 private:
  bool enter(Phase phase, Time now) { return set(phase, now + timeout(phase, limits_)); }
  bool set(Phase phase, Time when);
  [[nodiscard]] static std::chrono::milliseconds timeout(Phase phase, const Limits& limits);

  const Limits& limits_;
  Phase phase_ = Phase::Handshake;
  Time deadline_{};
  Time armed_ = Time::max();  // when the timer fires
  bool timed_out_ = false;
  bool first_ = true;
};

// End: how an I/O step that did not succeed ended.
enum class End {
  TimedOut,  // its deadline passed
  Closed,    // the client went away (end of stream, reset, a TLS stream cut without close_notify)
  Failed,    // anything else; the words given with it say what
};

// seconds_text: "10 s", "1.5 s".
[[nodiscard]] std::string seconds_text(std::chrono::milliseconds d);

// looks_like_plain_http: the client's first bytes begin like an HTTP request (a method of three or
// more capital letters, then a space), not a TLS record: answer kPlainHttpReply, as nginx does.
[[nodiscard]] bool looks_like_plain_http(std::string_view first_bytes);
inline constexpr std::string_view kPlainHttpReply =
    "HTTP/1.1 400 Bad Request\r\nServer: tlslab\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    "Content-Length: 49\r\n\r\nThis is an HTTPS port: use https:// to reach it.\n";
inline constexpr std::string_view kPlainHttpNote = "plain HTTP request on the TLS port; answered 400";

// first_read_failure: the sentence for a client whose first read brought nothing (Closed: it closed
// without a byte).
[[nodiscard]] std::string first_read_failure(End end, const Limits& limits, std::string_view words);

// handshake_failure: the sentence for a failed TLS handshake, told by the client's first bytes (an
// SSLv2-format hello, no TLS record at all) and OpenSSL's words.
[[nodiscard]] std::string handshake_failure(End end, std::string_view first_bytes, const Limits& limits,
                                            std::string_view words);

// wait_failure: the sentence for a wait for a request that ended (nothing when a keep-alive
// connection idles out or the client closes it: no error).
[[nodiscard]] std::optional<std::string> wait_failure(End end, bool first, const Limits& limits,
                                                      std::string_view words);

// http2_read_failure: the sentence for an HTTP/2 connection whose read failed (nothing when the
// client went away).
[[nodiscard]] std::optional<std::string> http2_read_failure(End end, std::string_view words);

// ReadFailure: why a request could not be read whole.
enum class ReadFailure { HeaderTooLarge, BodyTooLarge, TimedOut, Closed, Malformed, Failed };

// Refusal: how a request that could not be read is answered (no reply: the connection just ends)
// and logged.
struct Refusal {
  std::optional<http::Reply> reply;
  std::string note;
};

// refuse: 431 for a header over max_header_bytes, 413 for a body over max_body_bytes, 408 for one
// not complete in time (header: in header_timeout, else the body in request_timeout), 400 for a
// malformed one (words: the parser's); a client that went away or another error is only logged.
[[nodiscard]] Refusal refuse(ReadFailure why, bool header, const Limits& limits, std::string_view words);

// response_failure: the sentence for a response that could not be written whole (sent of length
// body bytes went out).
[[nodiscard]] std::string response_failure(End end, std::uint64_t sent, std::uint64_t length, const Limits& limits);

// keep_alive: whether the connection waits for another request after answering one whose
// Connection header (and version) asked keep_alive; not while the server stops.
[[nodiscard]] constexpr bool keep_alive(bool request_keep_alive, bool stopping) {
  return request_keep_alive && !stopping;
}

}  // namespace tlslab::serve
