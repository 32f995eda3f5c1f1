// connect::ConnectReport — what `tlslab connect` learnt, as plain data: where it went, how long each
// step took, the handshake and its verdict, the proxy's tunnel, the response, and the first
// failure. net::run_connect fills it; report/connect_render prints it. Nothing here does I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/failure.hpp"
#include "connect/target.hpp"
#include "http/client_exchange.hpp"
#include "http/h2_frames.hpp"
#include "pki/cert_info.hpp"
#include "tls/handshake_report.hpp"
#include "tls/trace.hpp"
#include "tls/trust.hpp"
#include "tls/verify.hpp"

namespace tlslab::connect {

struct Timings {
  double resolve_ms = 0;
  double tcp_ms = 0;
  double tls_ms = 0;
  double first_byte_ms = 0;  // request sent to first response byte
  double total_ms = 0;
};

// TunnelReport is what happened at the proxy (-x).
struct TunnelReport {
  std::string proxy;         // "127.0.0.1:8080", as given
  std::string authority;     // what CONNECT asked for: "www.bank32.com:443"
  bool credentials = false;  // Proxy-Authorization was sent
  bool replied = false;      // a reply header arrived
  int status = 0;            // the proxy's reply: 200
  std::string reason;        // "Connection established"
  std::string version;       // "HTTP/1.1"
  double ms = 0;             // CONNECT sent to the reply read
  [[nodiscard]] bool established() const { return status >= 200 && status < 300; }
};

struct ConnectFailure {
  Kind kind = Kind::Generic;
  std::string message;
};

struct ConnectReport {
  Target target;
  std::string host_unicode;  // the host as typed when IDNA changed it ("bücher.de"); "" otherwise
  Route route;
  std::vector<std::string> addresses;  // resolved, in the order tried
  std::string connected_address;       // "127.0.0.1:4433"
  std::string local_address;
  Timings timings;
  bool tcp_connected = false;
  bool handshake_done = false;
  tls::HandshakeReport handshake;
  tls::VerifyVerdict verdict;
  bool verification_enforced = true;
  std::optional<TunnelReport> tunnel;  // with -x
  std::string anchor_file;             // with a hashed directory: "1a2b3c4d.0"
  tls::TrustStoreInfo trust;
  std::string crl_file;  // --crlfile
  int crls = 0;          // CRLs read from it
  bool lowered_security = false;
  std::vector<pki::CertInfo> anchors;  // --show-ca
  std::vector<tls::TraceMessage> trace;
  std::size_t trace_at_handshake = 0;  // trace messages seen when the handshake was verified
  std::optional<http::ResponseInfo> response;
  std::vector<http::H2TraceFrame> http2_frames;  // --trace over HTTP/2: the frames both ways, in order
  std::string saved_to;
  std::optional<ConnectFailure> failure;
};

}  // namespace tlslab::connect
