#include "serve/facts.hpp"

#include <gtest/gtest.h>

namespace tlslab::serve {
namespace {

tls::ConnectionFacts tls13() {
  tls::ConnectionFacts f;
  f.version = "TLSv1.3";
  f.cipher_iana = "TLS_AES_128_GCM_SHA256";
  f.cipher_openssl = "TLS_AES_128_GCM_SHA256";
  f.cipher_bits = 128;
  f.group = "X25519";
  f.signature_scheme = "ecdsa_secp256r1_sha256";
  f.sni = "www.bank32.com";
  f.alpn = "h2";
  return f;
}

http::Request request(unsigned version, const char* user_agent) {
  http::Request r{boost::beast::http::verb::get, "/.well-known/tlslab", version};
  if (user_agent) r.set(boost::beast::http::field::user_agent, user_agent);
  return r;
}

TEST(PageFacts, TheConnectionAsThePageShowsIt) {
  PageFacts facts;
  auto f = tls13();
  const auto& json =
      facts.describe([&]() -> const tls::ConnectionFacts& { return f; }, "127.0.0.1", request(20, "curl/7.88.1"));
  // The page's JSON, byte for byte (keys in order, as /.well-known/tlslab shows them).
  EXPECT_EQ(json.dump(),
            R"({"alpn":"h2","cipher_bits":128,"cipher_suite":"TLS_AES_128_GCM_SHA256",)"
            R"("cipher_suite_openssl":"TLS_AES_128_GCM_SHA256","client_address":"127.0.0.1",)"
            R"("client_certificate":null,"client_certificate_verified":false,"group":"X25519",)"
            R"("http_version":"HTTP/2.0","protocol":"h2","resumed":false,)"
            R"("signature_scheme":"ecdsa_secp256r1_sha256","sni":"www.bank32.com","tls_version":"TLSv1.3",)"
            R"("user_agent":"curl/7.88.1"})");
}

TEST(PageFacts, TlsIsReadOnceTheRequestPartForEachRequest) {
  PageFacts facts;
  auto f = tls13();
  f.sni.clear();  // no SNI: null
  int asked = 0;
  auto tls = [&]() -> const tls::ConnectionFacts& {
    ++asked;
    return f;
  };
  auto first = facts.describe(tls, "::1", request(11, "one")).dump();
  const auto& second = facts.describe(tls, "::1", request(10, nullptr));
  EXPECT_EQ(asked, 1);
  EXPECT_NE(first.find(R"("protocol":"http/1.1")"), std::string::npos);
  EXPECT_TRUE(second["sni"].is_null());
  EXPECT_EQ(second["http_version"], "HTTP/1.0");
  EXPECT_EQ(second["protocol"], "http/1.0");
  EXPECT_TRUE(second["user_agent"].is_null());
  EXPECT_EQ(second["client_address"], "::1");
}

}  // namespace
}  // namespace tlslab::serve
