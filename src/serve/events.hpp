// The events `tlslab serve` logs, as models: what happened, with everything its log line shows.
// report/serve_render turns them into lines (text or JSON); net::run_server hands them to a
// LogSink as they happen and formats nothing itself.
//
// The events borrow their text (string_view, references): they live only for the sink's call,
// so logging a request copies nothing.
#pragma once

#include "base/listener_event.hpp"

#include <cstdint>
#include <ctime>
#include <optional>
#include <string_view>

#include "tls/server_context.hpp"

namespace tlslab::serve {

// AccessEvent: a request was answered (one access log line).
struct AccessEvent {
  std::time_t time = 0;
  std::string_view client;  // the peer's address, "127.0.0.1"
  std::string_view method;  // "GET"
  std::string_view target;  // "/index.html?x=1", as received
  unsigned version = 11;    // HTTP version as Beast counts it: 10, 11, 20
  unsigned status = 0;
  std::uint64_t bytes = 0;  // body bytes sent
  std::optional<std::string_view> referer;
  std::optional<std::string_view> user_agent;
  const tls::ConnectionFacts* tls = nullptr;  // the connection's TLS facts (never null)
};

// ClientError: something about one client for the error log ("sent nothing in 10 s; closed").
struct ClientError {
  std::time_t time = 0;
  std::string_view client;
  std::string_view what;  // a sentence from serve/policy or the HTTP/2 server
};

// Notice: something about the server itself, not one client.
struct Notice {
  enum class Kind {
    CannotTakeConnection,    // detail: why (an exception's text)
    ConnectionEndedByError,  // detail: the error
    Reloaded,                // SIGHUP: the certificates were read again
    ReloadFailed,            // detail: why the old ones stay
  };
  Kind kind;
  std::string_view detail;
};

// LogSink takes serve's events as they happen, on the worker thread of the connection (several
// threads at once: a sink writes each line whole).
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void access(const AccessEvent& event) = 0;
  virtual void client_error(const ClientError& event) = 0;
  virtual void notice(const Notice& event) = 0;
  virtual void listener(const ListenerEvent& event) = 0;
};

}  // namespace tlslab::serve
