#include "proxy/client_hello.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "ossl/pem.hpp"
#include "ossl/ptr.hpp"

namespace tlslab::proxy {
namespace {

// real_client_hello returns the first flight of a real OpenSSL client.
std::string real_client_hello(const char* sni, const std::string& alpn_wire, const char* groups = nullptr) {
  ossl::Ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  if (groups) SSL_CTX_set1_groups_list(ctx.get(), groups);
  ossl::Ptr<SSL> ssl(SSL_new(ctx.get()));
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), rbio, wbio);
  if (sni) SSL_set_tlsext_host_name(ssl.get(), sni);
  if (!alpn_wire.empty())
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                        static_cast<unsigned>(alpn_wire.size()));
  SSL_connect(ssl.get());
  return ossl::bio_text(wbio);
}

TEST(ClientHello, ReadsSniAndAlpnFromARealHelloInAnySplit) {
  auto hello = real_client_hello("WWW.Bank32.com", std::string("\x02h2\x08http/1.1", 12));
  ASSERT_GT(hello.size(), 100u);
  for (size_t step : {1, 7, 100, 100000}) {
    ClientHelloReader reader;
    ClientHelloReader::State state = ClientHelloReader::State::NeedMore;
    for (size_t i = 0; i < hello.size() && state == ClientHelloReader::State::NeedMore; i += step)
      state = reader.feed(std::string_view(hello).substr(i, step));
    ASSERT_EQ(state, ClientHelloReader::State::Done) << reader.error();
    EXPECT_EQ(reader.info().sni, "www.bank32.com");
    ASSERT_EQ(reader.info().alpn.size(), 2u);
    EXPECT_EQ(reader.info().alpn[0], "h2");
    EXPECT_EQ(reader.info().alpn[1], "http/1.1");
    EXPECT_EQ(reader.info().versions.front(), "TLS 1.3");
    EXPECT_EQ(reader.buffered(), hello);
  }
}

TEST(ClientHello, NoSniNoAlpn) {
  ClientHelloReader reader;
  ASSERT_EQ(reader.feed(real_client_hello(nullptr, "")), ClientHelloReader::State::Done);
  EXPECT_EQ(reader.info().sni, "");
  EXPECT_TRUE(reader.info().alpn.empty());
}

TEST(ClientHello, PlainHttpIsNotTls) {
  ClientHelloReader reader;
  EXPECT_EQ(reader.feed("GET / HTTP/1.1\r\n"), ClientHelloReader::State::NotTls);
  EXPECT_FALSE(reader.error().empty());
}

TEST(ClientHello, EveryTruncationAndCorruptionIsSafe) {
  auto hello = real_client_hello("www.bank32.com", std::string("\x08http/1.1", 9));
  for (size_t n = 0; n < hello.size(); ++n) {
    ClientHelloReader reader;
    EXPECT_EQ(reader.feed(std::string_view(hello).substr(0, n)), ClientHelloReader::State::NeedMore) << n;
  }
  for (size_t i = 5; i < hello.size(); ++i) {
    auto bad = hello;
    bad[i] = static_cast<char>(bad[i] ^ 0xff);
    ClientHelloReader reader;
    (void)reader.feed(bad);  // any state is fine; it must not crash or read out of bounds
  }
  ClientHelloReader reader;
  std::string huge("\x16\x03\x01\x40\x00\x01\xff\xff\xff", 9);
  EXPECT_EQ(reader.feed(huge), ClientHelloReader::State::Malformed);
}

}  // namespace
}  // namespace tlslab::proxy
