// proxy::LogEvent — what `tlslab proxy` tells as it runs, as facts: a flow ended, a certificate was
// forged, a connection was closed with its byte counts, a client failed and why, a note about the
// proxy itself. net::run_proxy hands each one to a LogSink as it happens; report/proxy_log renders
// them as the log lines (text or --log-json JSON, stdout or stderr) and the --dump blocks. The
// events say what happened and print nothing; a reason is a sentence of its own ("cannot resolve
// HOST: ..."), the framing around it (client, host, prefixes, JSON) is the renderer's.
#pragma once

#include "base/listener_event.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "pki/cert_info.hpp"
#include "proxy/client_failure.hpp"
#include "proxy/flow.hpp"
#include "proxy/forge.hpp"
#include "proxy/secrets.hpp"

namespace tlslab::proxy {

// Legs are the TLS versions and ALPN protocols of an intercepted connection's two legs.
struct Legs {
  std::string client_version;  // "TLSv1.3", as OpenSSL names it
  std::string client_alpn;     // "" when none was selected
  std::string server_version;
  std::string server_alpn;
  bool resumed = false;  // the real server resumed a session
};

namespace log_event {

// FlowEnded: an HTTP exchange finished, or was cut. With --redact the flow has its secrets masked
// already, and `masked` is set so that the secrets found are not shown either.
struct FlowEnded {
  std::string client;  // "127.0.0.1:50312"
  Flow flow;
  std::vector<Secret> secrets;  // found on the flow before it was masked (--dump's spotlight)
  bool masked = false;          // --redact
  std::size_t body_cap = 0;     // bytes of each body the flow kept
  std::string upstream;         // the real server's address ("" before it is reached)
  std::optional<Legs> legs;     // none on a plain http:// request
};

// CertificateForged: this run served a forgery it had not served before (minted, or loaded from
// the cache folder; never one from memory).
struct CertificateForged {
  std::string client;
  std::string host;  // the name the client asked for
  Forging forging;
};

// ForgeryShown: the real and the forged certificate, once per host (--show-forgery, --dump).
struct ForgeryShown {
  std::string host;
  std::optional<pki::CertInfo> real;  // none when there was no real certificate
  Forging forging;
  std::int64_t now = 0;  // epoch seconds the validity is told against
};

// ConnectionEnded: a connection's relay ended, with the bytes it carried each way.
enum class RelayEnd {
  PassedThrough,   // relayed untouched (--pass)
  Closed,          // the HTTP exchange between the legs ended (HTTP/2 on either)
  Opaque,          // decrypted bytes both ways, not HTTP
  StoppedParsing,  // HTTP/1.1 watched until something else came: `why`
};
struct ConnectionEnded {
  std::string client;
  std::string host;
  RelayEnd end = RelayEnd::Closed;
  std::optional<Legs> legs;  // Closed and Opaque
  std::string why;           // StoppedParsing: what was not HTTP/1.1
  std::uint64_t up = 0;      // bytes client -> server
  std::uint64_t down = 0;    // bytes server -> client
};

// ClientError: something about this client went wrong; reason says what.
struct ClientError {
  std::string client;
  std::string reason;
};

// ClientLine: a line about this client that is not an error.
struct ClientLine {
  std::string client;
  std::string text;
};

// ConnectionFailed: the connection's driver stopped on an exception.
struct ConnectionFailed {
  std::string client;
  std::string what;
};

// ClientRefused: the client's handshake with the forged certificate failed, classified.
struct ClientRefused {
  std::string client;
  std::string host;
  ClientFailure failure;
};

// UnreadableHello: the first flight was refused by the ClientHello reader and replayed into
// OpenSSL's server, which answered it.
struct UnreadableHello {
  std::string client;
  bool not_tls = false;       // not TLS at all (else a ClientHello the reader could not read)
  std::string reader_error;   // what the reader found wrong
  bool openssl_read = false;  // OpenSSL read a ClientHello there nonetheless: the reader's bug
  ClientFailure answer;       // else: how OpenSSL's answer ended the handshake
};

// HttpStopped: the HTTP exchange between the legs stopped on an error.
struct HttpStopped {
  std::string client;
  std::string host;
  std::string why;
};

// Note: about the proxy itself, not a connection (a cache file ignored...).
struct Note {
  std::string text;
};

// HarNotWritten: the --har file could not be kept up to date; it is tried again every second.
struct HarNotWritten {
  std::string why;
};

// ForgesCounted: at the end of the run, what forging cost and how often a forgery was reused.
struct ForgesCounted {
  ForgeStats stats;            // hits include resumed connections that took last time's forgery
  std::string cert_cache_dir;  // --cert-cache ("" none)
};

// HarWritten: at the end of the run, the --har file written a last time.
struct HarWritten {
  std::string file;
  std::size_t entries = 0;
};

}  // namespace log_event

using LogEvent =
    std::variant<log_event::FlowEnded, log_event::CertificateForged, log_event::ForgeryShown,
                 log_event::ConnectionEnded, log_event::ClientError, log_event::ClientLine, log_event::ConnectionFailed,
                 log_event::ClientRefused, log_event::UnreadableHello, log_event::HttpStopped, log_event::Note,
                 log_event::HarNotWritten, log_event::ForgesCounted, log_event::HarWritten, ListenerEvent>;

// LogSink receives the events of a proxy run as they happen, from every worker thread at once: it
// must be thread-safe. Each event is valid only during the call.
using LogSink = std::function<void(const LogEvent&)>;

}  // namespace tlslab::proxy
