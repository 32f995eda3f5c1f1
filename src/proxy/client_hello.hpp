// proxy::ClientHelloReader — reads just enough of a client's first TLS flight to learn the server
// name (SNI) and the ALPN protocols it asks for, before any certificate is chosen.
//
// The bytes are buffered, not consumed: once the hello is read, the caller replays them into the
// real TLS server (or relays them untouched in pass-through mode). Fed bytes from a hostile
// client: lengths are checked, records reassembled, and the hello is bounded in size.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tlslab::proxy {

struct ClientHelloInfo {
  std::string sni;                    // "" when the client sent none
  std::vector<std::string> alpn;      // in the client's order
  std::vector<std::string> versions;  // from supported_versions, e.g. "TLS 1.3"
};

class ClientHelloReader {
 public:
  enum class State { NeedMore, Done, NotTls, Malformed };

  // feed appends bytes and tries to parse; returns the new state.
  State feed(std::string_view bytes);
  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] const ClientHelloInfo& info() const { return info_; }
  // error says what was wrong (NotTls, Malformed).
  [[nodiscard]] const std::string& error() const { return error_; }
  // buffered returns every byte fed so far, to replay.
  [[nodiscard]] const std::string& buffered() const { return buffer_; }

  static constexpr std::size_t max_hello = 64 * 1024;

 private:
  State parse();
  State parse_hello(std::string_view body);
  std::string buffer_;
  ClientHelloInfo info_;
  std::string error_;
  State state_ = State::NeedMore;
};

}  // namespace tlslab::proxy
