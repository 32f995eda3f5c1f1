// net::run_connect — `tlslab connect` as a library call: resolve, TCP connect, TLS handshake,
// verification, optional HTTP exchange. Returns the whole report, including how far it got when
// something failed; prints nothing itself (progress callbacks excepted).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "connect/report.hpp"
#include "connect/target.hpp"
#include "http/client_exchange.hpp"
#include "tls/client_options.hpp"

namespace tlslab::net {

// default_connect_timeout is the limit on connection setup (resolve, TCP connect and the TLS
// handshake) when --connect-timeout is not given: curl's, whose connect timeout also covers the
// TLS handshake. A server that accepts and never answers is given up on after it.
inline constexpr double default_connect_timeout = 300;

// IpFamily is -4/-6: which addresses of a name are used (as curl's --ipv4/--ipv6).
enum class IpFamily { Any, V4, V6 };

struct ConnectOptions {
  connect::Target target;    // host in its ASCII (IDNA) form
  std::string host_unicode;  // the host as typed when IDNA changed it ("bücher.de"); "" otherwise
  std::vector<connect::ResolveOverride> resolves;
  std::vector<connect::ConnectTo> connect_tos;
  IpFamily ip_family = IpFamily::Any;
  // proxy (-x): TCP goes to the proxy (--resolve applies to its name), which is asked to CONNECT
  // to the target (after --connect-to); TLS then runs through the tunnel, as curl does.
  std::optional<connect::Proxy> proxy;
  std::string user_agent;  // sent in CONNECT
  tls::ClientOptions tls;
  std::optional<double> connect_timeout;  // seconds, up to the end of the TLS handshake; none: the default
  std::optional<double> max_time;         // seconds, whole operation; none: no limit
  bool trace = false;                     // TLS messages, and HTTP/2 frames after the handshake
  bool show_ca = false;
  // pause is called after the TCP connect and after the handshake ("tcp", "tls") and blocks
  // until the user is ready; null for no pauses.
  std::function<void(const std::string& stage, const std::string& detail)> pause;
  // on_progress is called when the report has grown during connection setup: after resolving,
  // and once TCP is connected, so a terminal can show each line as soon as it is known.
  std::function<void(const connect::ConnectReport&)> on_progress;
  // interruptible: Ctrl-C (SIGINT) stops the connection and run_connect returns what was learnt,
  // with a Kind::Interrupt failure, instead of the process dying with nothing said.
  bool interruptible = false;
  // on_handshake is called once the handshake is verified (or accepted with --insecure), before
  // any request is sent, so a caller can show the handshake before a streamed body.
  std::function<void(const connect::ConnectReport&)> on_handshake;
  std::optional<http::RequestSpec> request;  // send it after a verified handshake
  bool head_request = false;
  std::string output_file;                          // body destination; "" = body_sink
  std::function<void(std::string_view)> body_sink;  // used when output_file is ""
  std::optional<std::uint64_t> max_filesize;
  // fail_on_http_error (--fail): a status >= 400 is a failure (Kind::HttpStatus); the body is
  // neither saved nor passed to body_sink, as curl --fail does.
  bool fail_on_http_error = false;
};

// run_connect does the whole exchange. Failures of the network or the peer are reported in
// report.failure (with everything learnt until then); bad options throw Failure before any I/O.
[[nodiscard]] connect::ConnectReport run_connect(const ConnectOptions& options);

}  // namespace tlslab::net
