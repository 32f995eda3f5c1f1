// proxy::Core — what the proxy does with one client connection, decided without I/O: events in
// (what happened: a request head was read, a ClientHello parsed, the real server reached, a
// handshake done or failed), commands out (what to do next: read a hello, resolve, connect, start
// a handshake, answer with a page or an alert, relay). net/proxy.cpp carries the commands out
// with sockets, timers and OpenSSL and reports each outcome back as the next event; the tests
// drive the core as playbooks (events in, the exact commands expected), as mitmproxy's layers are.
//
// The life of a connection:
//   sni/reverse:  Start -> ReadHello -> HelloRead -> Resolve -> Resolved -> Connect -> Connected
//                 -> StartUpstreamTls -> UpstreamTlsDone -> StartClientTls -> ClientTlsDone -> Relay
//   explicit:     Start -> ReadRequest -> RequestRead (CONNECT) -> SendEstablished + ReadHello -> as above
//                 RequestRead (http://...) -> Resolve -> ... -> Connected -> Relay (plain, observed)
// Refusals: before any certificate a fatal alert (sni/reverse); inside a CONNECT tunnel, where a
// browser would show a bare error code, a handshake with a certificate forged for the requested
// name and a 502 page that says why; a plain request that cannot be served gets a 400 or 502 page.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proxy/alpn.hpp"
#include "proxy/client_hello.hpp"
#include "proxy/exchange.hpp"
#include "proxy/policy.hpp"

namespace tlslab::proxy {

enum class Mode { Sni, Explicit, Reverse };
// to_string is the mode's name on the command line and in messages: "sni", "explicit", "reverse".
[[nodiscard]] std::string_view to_string(Mode mode);
// parse_mode reads a mode's name (to_string's); none for any other text.
[[nodiscard]] std::optional<Mode> parse_mode(std::string_view text);

struct CoreConfig {
  Mode mode = Mode::Sni;
  std::string upstream_host;          // reverse mode: the one real server
  std::uint16_t upstream_port = 443;  // sni mode: port of the real servers; reverse: the server's
  std::vector<HostPattern> pass;      // relayed untouched (--pass)
  std::vector<Endpoint> listeners;    // our own addresses: a target among them is a loop
  bool upstream_insecure = false;
  Http2Mode http2 = Http2Mode::Auto;
};

// ---- Events: what happened (past tense).
namespace event {
struct Start {};
// Explicit mode: the head of the client's first request (error set when it is not HTTP).
struct RequestRead {
  std::string method;  // "CONNECT", "GET", ...
  std::string target;  // "www.bank32.com:443", "http://www.bank32.com/x"
  int version = 11;
  Headers fields;
  std::string error;  // "" when the head parsed
};
struct HelloRead {
  ClientHelloInfo info;
};
struct HelloFailed {
  std::string why;
  bool unreadable = false;  // bytes the reader refused: OpenSSL answers them as its server would
};
struct Resolved {
  std::vector<Endpoint> addresses;  // empty: why says what went wrong
  std::string why;
};
struct Connected {
  std::string address;  // "127.0.0.1:4433"
};
struct ConnectFailed {
  std::string why;
};
struct UpstreamTlsDone {
  std::string alpn;            // what the real server selected ("" none)
  std::string verify_problem;  // "" when the certificate verified for the name
  bool resumed = false;
};
struct UpstreamTlsFailed {
  std::string why;
};
struct ClientTlsDone {
  std::string alpn;  // what the client got ("" none)
};
struct ClientTlsFailed {
  std::string why;  // "" when the executor logged it already
};
struct RelayEnded {};
// The client went away (or stalled) before anything was decided; why is logged unless empty.
struct ClientGone {
  std::string why;
};
}  // namespace event
using Event = std::variant<event::Start, event::RequestRead, event::HelloRead, event::HelloFailed, event::Resolved,
                           event::Connected, event::ConnectFailed, event::UpstreamTlsDone, event::UpstreamTlsFailed,
                           event::ClientTlsDone, event::ClientTlsFailed, event::RelayEnded, event::ClientGone>;

// ---- Commands: what to do (imperative). Each one the executor starts ends in one event, except
// SendPage, SendEstablished, SendAlert, Log and Close, which complete at once.
namespace command {
struct ReadRequest {};  // the first request head (explicit mode)
struct ReadHello {};    // the ClientHello (buffered for replay)
struct Resolve {
  std::string host;
  std::uint16_t port = 0;
};
struct Connect {
  std::vector<Endpoint> addresses;  // tried in order
  std::string host;                 // for messages
  std::uint16_t port = 0;
};
struct SendEstablished {};  // "HTTP/1.1 200 Connection established"
struct SendPage {           // a plain HTTP error page (before any TLS), then close
  unsigned status = 502;
  std::string why;
};
// Hand the client's unreadable first flight to OpenSSL's server, which answers as `openssl
// s_server` would (an alert, or nothing for bytes that are not TLS), and log what happened.
struct AnswerUnreadable {};
struct SendAlert {  // a fatal TLS alert before any certificate (handshake_failure)
  std::uint8_t alert = 40;
};
struct StartUpstreamTls {
  std::string sni;  // "" for an address
  std::vector<std::string> alpn;
};
// Forge a certificate for `requested` (with the real server's certificate, if any, as the model)
// and run the client's handshake with it, selecting `alpn`.
struct StartClientTls {
  std::string requested;
  std::string alpn;
  bool with_real_certificate = true;  // false: a refusal inside a tunnel (no real certificate)
};
struct Answer502 {  // inside TLS: answer the first request with a 502 page saying why
  std::string why;
};
enum class RelayKind {
  Raw,       // bytes both ways, untouched (--pass, a tunnel to a passed host)
  Observed,  // bytes both ways, HTTP/1.1 watched (flows recorded); first_up goes first
  Http,      // proxy::Exchange between the legs (HTTP/2 on either)
  Opaque,    // decrypted bytes both ways, not HTTP (another ALPN protocol)
};
struct Relay {
  RelayKind kind = RelayKind::Raw;
  std::string first_up;  // bytes to send upstream first (a replayed hello, a rewritten request head)
  HttpProtocol client_leg = HttpProtocol::Http1, upstream_leg = HttpProtocol::Http1;
  bool tls = false;  // between the two TLS legs (else the raw sockets)
};
struct Log {
  bool error = false;  // an error line about this client (else a log line)
  std::string text;
};
struct Close {};
}  // namespace command
using Command =
    std::variant<command::ReadRequest, command::ReadHello, command::Resolve, command::Connect, command::SendEstablished,
                 command::SendPage, command::AnswerUnreadable, command::SendAlert, command::StartUpstreamTls,
                 command::StartClientTls, command::Answer502, command::Relay, command::Log, command::Close>;
using Commands = std::vector<Command>;

class Core {
 public:
  explicit Core(const CoreConfig& config) : config_(config) {}

  // on takes the next event and returns what to do; after a Close, nothing more.
  Commands on(const Event& event);

  // What the connection is about, for log lines: the name the client asked for ("" until known).
  [[nodiscard]] const std::string& requested() const { return requested_; }
  [[nodiscard]] const std::string& host() const { return host_; }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] bool tunnel() const { return tunnel_; }
  [[nodiscard]] const ClientHelloInfo& hello() const { return hello_; }
  [[nodiscard]] const std::string& upstream_alpn() const { return upstream_alpn_; }
  [[nodiscard]] bool closed() const { return state_ == State::Closed; }

 private:
  enum class State {
    Start,
    Request,  // explicit: waiting for the request head
    Hello,    // waiting for the ClientHello
    Resolving,
    Connecting,
    UpstreamTls,
    ClientTls,
    RefusingInTunnel,  // handshake with a forgery, to answer 502
    Relaying,
    Closed,
  };
  enum class Purpose { Intercept, PassTunnel, PassTls, PlainForward };

  Commands on_start();
  Commands on_request(const event::RequestRead& e);
  Commands on_hello(const event::HelloRead& e);
  Commands on_resolved(const event::Resolved& e);
  Commands on_connected(const event::Connected& e);
  Commands on_upstream_tls(const event::UpstreamTlsDone& e);
  Commands on_client_tls(const event::ClientTlsDone& e);
  // refuse says no to the client: why is logged (unless log_it is false: already said), then an
  // alert, a page, or a handshake inside the tunnel that ends with a 502 page.
  Commands refuse(const std::string& why, bool log_it = true);
  Commands close(Commands out = {});

  CoreConfig config_;
  State state_ = State::Start;
  Purpose purpose_ = Purpose::Intercept;
  bool tunnel_ = false;
  std::string host_, requested_, upstream_alpn_;
  std::string address_;  // the real server's address once connected ("127.0.0.1:4433")
  std::uint16_t port_ = 0;
  ClientHelloInfo hello_;
  std::string forward_head_;  // plain forwarding: the request head rewritten for the server
  std::string refusal_;       // why, for the 502 page inside a tunnel
};

// origin_request rewrites an explicit proxy's plain request for the real server: origin-form
// target, hop-by-hop fields removed (RFC 9110 §7.6.1, with those named in Connection), and
// "Connection: close". Returns "" and sets why when the target is not an absolute http:// URL.
struct PlainTarget {
  std::string host;
  std::uint16_t port = 80;
  std::string origin_form;  // "/path?query"
};
[[nodiscard]] std::optional<PlainTarget> parse_plain_target(const std::string& target, std::string& why);
[[nodiscard]] std::string origin_request(const event::RequestRead& request, const PlainTarget& target);

// parse_authority reads a CONNECT target "host:port" ("[v6]:port"); nullopt if it is not one.
[[nodiscard]] std::optional<std::pair<std::string, std::uint16_t>> parse_authority(const std::string& text);

}  // namespace tlslab::proxy
