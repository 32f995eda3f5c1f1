// Real and hand-made TLS handshakes for the trace decoder's tests and the trace fuzzer's seeds
// (tests/fuzz/write_seeds.cpp): peers set up like a browser and a server, their logs, and byte
// builders for messages no OpenSSL sends.
#pragma once

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "support/cert_factory.hpp"
#include "support/tls_pair.hpp"
#include "tls/trace.hpp"

namespace tlslab::tls::sample {

using tlslab::testing::CertSpec;
using tlslab::testing::issue;
using tlslab::testing::Issued;
using tlslab::testing::PeerSetup;
using tlslab::testing::RecordedMessage;
using tlslab::testing::TlsPair;

inline const Issued& server_cert() {
  static const Issued cert =
      issue(CertSpec{.common_name = "www.bank32.com", .dns = {"www.bank32.com"}, .eku = {"serverAuth"}});
  return cert;
}

inline const Issued& client_cert() {
  static const Issued cert = issue(CertSpec{.common_name = "alice", .eku = {"clientAuth"}});
  return cert;
}

inline int select_h2(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                     unsigned in_len, void* /*arg*/) {
  static const unsigned char ours[] = "\x02h2";
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_len, ours, sizeof ours - 1, in, in_len) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

inline int accept_server_name(SSL* /*ssl*/, int* /*alert*/, void* /*arg*/) { return SSL_TLSEXT_ERR_OK; }

inline int accept_any_certificate(int /*ok*/, X509_STORE_CTX* /*ctx*/) { return 1; }

// client_setup: SNI www.bank32.com, ALPN h2,http/1.1, up to max_version (TLS 1.2 with
// ECDHE-ECDSA-AES128-GCM-SHA256), then extra.
inline PeerSetup client_setup(int max_version, std::function<void(SSL_CTX*)> extra = {}) {
  return {.ctx =
              [max_version, extra](SSL_CTX* ctx) {
                SSL_CTX_set_max_proto_version(ctx, max_version);
                if (max_version == TLS1_2_VERSION) SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256");
                static const unsigned char alpn[] = "\x02h2\x08http/1.1";
                SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
                if (extra) extra(ctx);
              },
          .ssl = [](SSL* ssl) { SSL_set_tlsext_host_name(ssl, "www.bank32.com"); }};
}

// server_setup: the www.bank32.com certificate, ALPN h2, SNI acknowledged, then extra.
inline PeerSetup server_setup(std::function<void(SSL_CTX*)> extra = {}) {
  PeerSetup setup = tlslab::testing::server_with(server_cert());
  setup.ctx = [base = setup.ctx, extra](SSL_CTX* ctx) {
    base(ctx);
    SSL_CTX_set_alpn_select_cb(ctx, select_h2, nullptr);
    SSL_CTX_set_tlsext_servername_callback(ctx, accept_server_name);
    if (extra) extra(ctx);
  };
  return setup;
}

inline void require_client_certificate(SSL_CTX* ctx) {
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_certificate);
}

inline void use_client_certificate(SSL_CTX* ctx) {
  SSL_CTX_use_certificate(ctx, client_cert().cert.get());
  SSL_CTX_use_PrivateKey(ctx, client_cert().key.get());
}

inline Direction direction(const RecordedMessage& m) { return m.sent ? Direction::Sent : Direction::Received; }

// client_log runs a handshake and returns the client's log (a failed test when it fails).
inline std::vector<RecordedMessage> client_log(const PeerSetup& client, const PeerSetup& server) {
  TlsPair pair(client, server);
  EXPECT_TRUE(pair.handshake()) << pair.error();
  return pair.client_messages();
}

inline std::vector<RecordedMessage> tls13_log() { return client_log(client_setup(TLS1_3_VERSION), server_setup()); }
inline std::vector<RecordedMessage> tls12_log() { return client_log(client_setup(TLS1_2_VERSION), server_setup()); }

// Hand-made messages: big-endian numbers, length-prefixed vectors.
inline std::string be(std::uint32_t value, int width) {
  std::string out;
  for (int i = width - 1; i >= 0; --i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
  return out;
}
inline std::string vec(int width, std::string_view body) {
  return be(static_cast<std::uint32_t>(body.size()), width) + std::string(body);
}
inline std::string handshake_message(int type, std::string_view body) { return be(type, 1) + vec(3, body); }
inline std::string extension(std::uint16_t type, std::string_view body) { return be(type, 2) + vec(2, body); }
inline std::string sni(std::string_view host) { return extension(0, vec(2, be(0, 1) + vec(2, host))); }
inline std::string alpn_extension(std::string_view protocol) { return extension(16, vec(2, vec(1, protocol))); }

// hello_body is a ClientHello body up to (not including) its extensions.
inline std::string hello_body(std::string_view suites = "\x13\x01") {
  return be(0x0303, 2) + std::string(32, '\x11') + vec(1, "") + vec(2, suites) + vec(1, std::string(1, '\0'));
}
inline std::string client_hello(std::string_view extensions) {
  return handshake_message(1, hello_body() + vec(2, extensions));
}

// browser_hello is a ClientHello shaped like a current browser's: GREASE everywhere, a hybrid
// post-quantum key share, certificate compression, ECH, padding and a PSK.
inline std::string browser_hello() {
  std::string suites = be(0x0A0A, 2) + be(0x1301, 2) + be(0x1302, 2) + be(0x1303, 2) + be(0xC02B, 2);
  std::string extensions =
      extension(0x0A0A, "") + sni("www.bank32.com") + extension(23, "") + extension(0xFF01, vec(1, "")) +
      extension(10, vec(2, be(0x1A1A, 2) + be(0x11EC, 2) + be(29, 2) + be(23, 2))) + extension(11, vec(1, be(0, 1))) +
      extension(35, "") + extension(16, vec(2, vec(1, "h2") + vec(1, "http/1.1"))) +
      extension(5, be(1, 1) + vec(2, "") + vec(2, "")) + extension(13, vec(2, be(0x0403, 2) + be(0x0804, 2))) +
      extension(18, "") +
      extension(51, vec(2, be(0x2A2A, 2) + vec(2, std::string(1, '\0')) + be(0x11EC, 2) +
                               vec(2, std::string(1216, 'k')) + be(29, 2) + vec(2, std::string(32, 'k')))) +
      extension(45, vec(1, be(1, 1))) + extension(43, vec(1, be(0x3A3A, 2) + be(0x0304, 2) + be(0x0303, 2))) +
      extension(27, vec(1, be(2, 2))) + extension(0x44CD, vec(2, vec(1, "h2"))) + extension(0xFE0D, "ech") +
      extension(28, be(16385, 2)) + extension(42, "") + extension(0x4A4A, std::string(1, '\0')) +
      extension(21, std::string(100, '\0')) +
      extension(41, vec(2, vec(2, "ticket") + be(1234, 4)) + vec(2, vec(1, std::string(32, 'b'))));
  return handshake_message(1, hello_body(suites) + vec(2, extensions));
}

}  // namespace tlslab::tls::sample
