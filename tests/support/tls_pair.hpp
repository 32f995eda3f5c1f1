// testing::TlsPair — a real OpenSSL client and server talking over a BIO pair, in one thread.
//
// No sockets: the two SSL objects share an in-memory BIO pair and are driven in turn until
// both finish the handshake (or one fails). Each side is configured by callbacks on its SSL_CTX
// and its SSL, and every protocol message each side sends or receives (SSL_set_msg_callback) is
// recorded, so tests can feed real handshakes to parsers and assert on what was negotiated.
//
//   TlsPair pair({.ctx = [](SSL_CTX* c) { SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION); }},
//                server_with(issue(CertSpec{.common_name = "www.bank32.com"})));
//   ASSERT_TRUE(pair.handshake()) << pair.error();
//   for (const auto& m : pair.client_messages()) ...
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ossl/ptr.hpp"
#include "support/cert_factory.hpp"

namespace tlslab::testing {

// PeerSetup configures one side; either callback may be empty.
struct PeerSetup {
  std::function<void(SSL_CTX*)> ctx;  // after SSL_CTX_new, before SSL_new
  std::function<void(SSL*)> ssl;      // after SSL_new (SNI, per-connection options)
};

// RecordedMessage is one msg_callback call, as OpenSSL made it.
struct RecordedMessage {
  bool sent = false;     // write_p: this side sent it
  int version = 0;       // record version OpenSSL reported
  int content_type = 0;  // 20..24, or SSL3_RT_HEADER / SSL3_RT_INNER_CONTENT_TYPE
  std::string bytes;
};

// server_with returns a setup that serves cert (chain: cert only) with SSL_VERIFY_NONE.
PeerSetup server_with(const Issued& cert);

class TlsPair {
 public:
  // TlsPair creates both sides with TLS_client_method / TLS_server_method, min TLS 1.2 unless a
  // setup changes it, peer verification off unless a setup turns it on. Throws on OpenSSL failure.
  TlsPair(const PeerSetup& client, const PeerSetup& server);
  // TlsPair with the server a new connection of server_ctx (a reference is taken), so that its
  // session cache and ticket keys last from one pair to the next.
  TlsPair(const PeerSetup& client, SSL_CTX* server_ctx);
  TlsPair(const TlsPair&) = delete;
  TlsPair& operator=(const TlsPair&) = delete;
  ~TlsPair();

  // handshake drives both sides until both have finished, then lets each read what the other
  // sent after its Finished (TLS 1.3 NewSessionTicket) without consuming application data.
  // Returns false when a side failed or neither can progress; error() says why.
  [[nodiscard]] bool handshake();

  // pump lets each side process what is waiting for it (post-handshake messages, alerts) without
  // reading application data; returns whether anything moved.
  bool pump();

  // shutdown exchanges close_notify both ways; returns whether both sides completed it. A session
  // of a connection freed without it is not resumable (OpenSSL drops it as possibly bad).
  bool shutdown();

  [[nodiscard]] SSL* client() const noexcept { return client_.get(); }
  [[nodiscard]] SSL* server() const noexcept { return server_.get(); }
  [[nodiscard]] const std::vector<RecordedMessage>& client_messages() const noexcept { return client_log_; }
  [[nodiscard]] const std::vector<RecordedMessage>& server_messages() const noexcept { return server_log_; }
  // error returns why handshake() failed: the side, SSL_get_error and OpenSSL's error queue.
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  // connect makes the client's context, the server's when server is given, and both connections
  // on a BIO pair.
  void connect(const PeerSetup& client, const PeerSetup* server);

  ossl::Ptr<SSL_CTX> client_ctx_, server_ctx_;
  ossl::Ptr<SSL> client_, server_;
  std::vector<RecordedMessage> client_log_, server_log_;
  std::string error_;
};

}  // namespace tlslab::testing
