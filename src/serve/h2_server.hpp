// serve::H2Server — `tlslab serve` over HTTP/2, without I/O: the client's bytes go in (receive),
// the bytes to send come out (take_output), and each stream's request is answered by an
// H2Responder with the same Reply serve builds for HTTP/1.1 (site.hpp).
//
// A stream's life:
//
//   HEADERS ──> [request] ──(END_STREAM)──> respond() ──> [response] ──(END_STREAM sent)──> closed
//                   │                                          │
//                   ├─ header over the limit:     431 ─────────┤
//                   ├─ body over the limit:       413 ─────────┤ (then RST_STREAM NO_ERROR when the
//                   └─ body not in within limit:  408 ─────────┘  client still sends: RFC 9113 §8.1)
//
// Memory stays bounded by what the protocol allows, not by what the client sends or reads:
// request bodies are held up to max_body_bytes per stream, and their flow-control windows reopen
// only while the connection holds less than a budget of them; file bodies are read from disk a
// piece at a time as the client's windows take them (never a whole file in memory), and a stream
// whose client stops taking its response (a window held at zero) is reset after write_timeout.
// Abuse of the protocol itself (rapid reset, floods, HPACK bombs, CONTINUATION) is H2Session's.
//
// Time is given by the caller (now), so every timeout is a unit test.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/h2_session.hpp"
#include "http/site.hpp"
#include "serve/limits.hpp"
#include "serve/policy.hpp"

namespace tlslab::serve {

using http::H2Fields;
using http::Reply;
using http::Request;

using H2Clock = Clock;

// H2ServerOptions: serve's limits; HTTP/2 takes max_streams (SETTINGS_MAX_CONCURRENT_STREAMS),
// max_header_bytes (decoded header fields per request, RFC 9113 §6.5.2 size: 431), max_body_bytes
// (request body per stream: 413), header_timeout (the first request, after the handshake),
// idle_timeout (no stream open), request_timeout (a request's body: 408) and write_timeout (a
// response that makes no progress: RST_STREAM).
using H2ServerOptions = Limits;

// H2Responder is what the server around an H2Server does for it.
class H2Responder {
 public:
  virtual ~H2Responder() = default;
  // respond answers a complete request (version 20).
  virtual Reply respond(const Request& request) = 0;
  // responded: a stream ended; status was answered (0: none) and bytes of its body sent.
  virtual void responded(const Request& request, unsigned status, std::uint64_t bytes) = 0;
  // note: a line for the error log about this client ("request body larger than ...; answered 413").
  virtual void note(const std::string& line) = 0;
  // date: the Date header's value now.
  virtual std::string_view date() = 0;
};

class H2Server {
 public:
  H2Server(const H2ServerOptions& options, H2Responder& responder, H2Clock::time_point now);
  ~H2Server();
  H2Server(const H2Server&) = delete;
  H2Server& operator=(const H2Server&) = delete;

  // receive feeds the client's bytes; requests complete in them are answered at once. false on a
  // connection error (error() says what; a GOAWAY is queued: send it, then close).
  bool receive(std::string_view bytes, H2Clock::time_point now);
  // take_output appends the bytes to send to out (about max at most); false when there are none.
  bool take_output(std::string& out, std::size_t max = 64 * 1024);
  // shutdown sends a graceful GOAWAY: streams open may finish, no new ones are taken.
  void shutdown();
  // next_deadline: when expire must be called next.
  [[nodiscard]] H2Clock::time_point next_deadline() const;
  // expire acts on every timeout that passed by now (408, resets, GOAWAY for an idle connection).
  void expire(H2Clock::time_point now);
  // done: nothing more will be sent or taken; close the connection once the output is written.
  [[nodiscard]] bool done() const;
  // idle: no stream open (a connection a shutdown may end at once).
  [[nodiscard]] bool idle() const;
  [[nodiscard]] const std::string& error() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// h2_request builds serve's Request from a request's HTTP/2 header block (version 20; :authority
// becomes Host; cookie fields joined with "; ", RFC 9113 §8.2.3).
[[nodiscard]] Request h2_request(const H2Fields& fields);
// h2_fields_size is a header block's size as RFC 9113 §6.5.2 counts it: names, values, 32 per field.
[[nodiscard]] std::size_t h2_fields_size(const H2Fields& fields);
// h2_response_head is reply's header block: :status, server, date, content-type (not for 304), the
// reply's own fields in lower case, content-length (not for 204 and 304).
[[nodiscard]] H2Fields h2_response_head(const Reply& reply, std::string_view date);

}  // namespace tlslab::serve
