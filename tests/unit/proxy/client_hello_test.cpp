#include "proxy/client_hello.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <string>

#include "ossl/pem.hpp"
#include "ossl/ptr.hpp"
#include "support/cert_factory.hpp"
#include "support/tls_pair.hpp"

namespace tlslab::proxy {
namespace {

// real_client_hello returns the first flight of a real OpenSSL client.
std::string real_client_hello(const char* sni, const std::string& alpn_wire, const char* groups = nullptr,
                              const char* sigalgs = nullptr) {
  ossl::Ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  if (groups) SSL_CTX_set1_groups_list(ctx.get(), groups);
  if (sigalgs) SSL_CTX_set1_sigalgs_list(ctx.get(), sigalgs);
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

std::string u16(std::size_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string u24(std::size_t v) { return static_cast<char>(v >> 16) + u16(v & 0xffff); }
std::string ext(std::uint16_t type, const std::string& data) { return u16(type) + u16(data.size()) + data; }

// made_hello_body is a TLS 1.3 ClientHello body with a signature_algorithms list of about
// sigalgs_bytes (unknown code points, then rsa_pss_rsae_sha256 and ecdsa_secp256r1_sha256) and
// extra_suites more (unknown) cipher suites.
std::string made_hello_body(std::size_t sigalgs_bytes, std::size_t extra_suites = 0) {
  std::string algs;
  while (algs.size() + 4 < sigalgs_bytes) algs += u16(0x0a00 + (algs.size() / 2) % 0x100);
  algs += u16(0x0804) + u16(0x0403);
  std::string exts = ext(0, u16(17) + '\0' + u16(14) + "www.bank32.com") + ext(43, std::string("\x02\x03\x04", 3)) +
                     ext(10, u16(2) + u16(0x1d)) + ext(51, u16(36) + u16(0x1d) + u16(32) + std::string(32, '\x09')) +
                     ext(13, u16(algs.size()) + algs);
  std::string suites = u16(0x1301);
  for (std::size_t i = 0; i < extra_suites; ++i) suites += u16(0x5a00 + i % 0x100);
  return u16(0x0303) + std::string(32, '\x07') + '\0' + u16(suites.size()) + suites + std::string("\x01\x00", 2) +
         u16(exts.size()) + exts;
}

// records splits a handshake message into records of at most size bytes.
std::string records(const std::string& message, std::size_t size = 16384, char type = 22) {
  std::string out;
  for (std::size_t i = 0; i < message.size(); i += size) {
    auto part = message.substr(i, size);
    out += std::string{type, '\x03', '\x01'} + u16(part.size()) + part;
  }
  return out;
}

std::string handshake(const std::string& body) { return '\x01' + u24(body.size()) + body; }

// openssl_answers feeds bytes to a real OpenSSL server and returns what it writes back.
std::string openssl_answers(const std::string& bytes) {
  auto cert = testing::issue({.common_name = "www.bank32.com", .dns = {"www.bank32.com"}});
  ossl::Ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  testing::server_with(cert).ctx(ctx.get());
  ossl::Ptr<SSL> ssl(SSL_new(ctx.get()));
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_write(in, bytes.data(), static_cast<int>(bytes.size()));
  SSL_set_bio(ssl.get(), in, out);
  SSL_set_accept_state(ssl.get());
  (void)SSL_do_handshake(ssl.get());
  return ossl::bio_text(out);
}

ClientHelloReader::State read_in_steps(ClientHelloReader& reader, std::string_view bytes, std::size_t step) {
  auto state = ClientHelloReader::State::NeedMore;
  for (std::size_t i = 0; i < bytes.size() && state == ClientHelloReader::State::NeedMore; i += step)
    state = reader.feed(bytes.substr(i, step));
  return state;
}

TEST(ClientHello, ReadsTheSignatureSchemes) {
  ClientHelloReader reader;
  ASSERT_EQ(reader.feed(real_client_hello("www.bank32.com", "", nullptr, "rsa_pss_rsae_sha256:ecdsa_secp384r1_sha384")),
            ClientHelloReader::State::Done);
  EXPECT_EQ(reader.info().signature_schemes, (std::vector<std::uint16_t>{0x0804, 0x0503}));
  EXPECT_TRUE(reader.info().certificate_schemes.empty());  // OpenSSL's client sends no signature_algorithms_cert
  EXPECT_FALSE(reader.info().sslv2);
}

TEST(ClientHello, ReadsSignatureAlgorithmsCert) {
  auto body = made_hello_body(4);
  // Append signature_algorithms_cert (50) offering rsa_pss_rsae_sha256 alone.
  auto extra = ext(50, u16(2) + u16(0x0804));
  std::size_t at = 2 + 32 + 1 + 2 + 2 + 2;  // version, random, session id, one suite, compression
  std::size_t old_len = static_cast<unsigned char>(body[at]) << 8 | static_cast<unsigned char>(body[at + 1]);
  body = body.substr(0, at) + u16(old_len + extra.size()) + body.substr(at + 2) + extra;
  ClientHelloReader reader;
  ASSERT_EQ(reader.feed(records(handshake(body))), ClientHelloReader::State::Done) << reader.error();
  EXPECT_EQ(reader.info().certificate_schemes, (std::vector<std::uint16_t>{0x0804}));
  EXPECT_EQ(reader.info().signature_schemes, (std::vector<std::uint16_t>{0x0804, 0x0403}));
}

// Whatever OpenSSL's server reads, the reader reads: a hello over several records, up to the
// largest OpenSSL takes, in any split.
TEST(ClientHello, ReadsHellosSpanningRecordsAsOpenSslDoes) {
  for (auto [sigalgs, suites] : {std::pair<std::size_t, std::size_t>{65400, 0}, {65400, 30000}}) {
    auto bytes = records(handshake(made_hello_body(sigalgs, suites)));
    ASSERT_GT(bytes.size(), 65536u);
    auto answer = openssl_answers(bytes);
    ASSERT_FALSE(answer.empty());
    EXPECT_EQ(answer[0], '\x16') << "OpenSSL refused the hello";  // a ServerHello, not an alert
    for (std::size_t step : {1000, 4096, 200000}) {
      ClientHelloReader reader;
      ASSERT_EQ(read_in_steps(reader, bytes, step), ClientHelloReader::State::Done) << reader.error();
      EXPECT_EQ(reader.info().sni, "www.bank32.com");
      EXPECT_EQ(reader.info().signature_schemes.back(), 0x0403);
      EXPECT_EQ(reader.buffered(), bytes);
    }
  }
  // A real hello cut into records of 10 bytes.
  auto hello = real_client_hello("www.bank32.com", "");
  auto bytes = records(hello.substr(5), 10);
  ClientHelloReader reader;
  ASSERT_EQ(reader.feed(bytes), ClientHelloReader::State::Done) << reader.error();
  EXPECT_EQ(reader.info().sni, "www.bank32.com");
}

TEST(ClientHello, RefusesWhatOpenSslRefuses) {
  auto hello = handshake(made_hello_body(100));
  auto check = [](const std::string& bytes, ClientHelloReader::State want) {
    ClientHelloReader reader;
    EXPECT_EQ(reader.feed(bytes), want) << reader.error();
    EXPECT_FALSE(reader.error().empty());
    auto answer = openssl_answers(bytes);
    ASSERT_GE(answer.size(), 1u);
    EXPECT_EQ(answer[0], '\x15');  // an alert
  };
  // Application data in the middle of the hello.
  auto split = records(hello, 100);
  check(split.substr(0, 105) + records("hello", 16384, 23) + split.substr(105), ClientHelloReader::State::Malformed);
  check(records("hello", 16384, 23), ClientHelloReader::State::NotTls);
  // A record over 2^14 bytes.
  auto big = handshake(made_hello_body(20000));
  check(records(big.substr(0, 16385), 16385) + records(big.substr(16385)), ClientHelloReader::State::Malformed);
  // A hello larger than OpenSSL's bound, told by its header.
  ClientHelloReader reader;
  EXPECT_EQ(reader.feed(records(std::string("\x01", 1) + u24(ClientHelloReader::kMaxHelloBody + 1))),
            ClientHelloReader::State::Malformed);
  // A handshake message that is not a ClientHello.
  check(records(std::string("\x02\x00\x00\x02\x03\x03", 6)), ClientHelloReader::State::Malformed);
}

std::string sslv2_hello(std::uint16_t version, const std::string& specs) {
  std::string challenge(32, '\x05');
  auto body = '\x01' + u16(version) + u16(specs.size()) + u16(0) + u16(challenge.size()) + specs + challenge;
  return u16(0x8000 | body.size()) + body;
}

TEST(ClientHello, ReadsAnSslv2FormatHelloAsOpenSslDoes) {
  // ECDHE-RSA-AES128-GCM-SHA256 and TLS_RSA_WITH_AES_128_CBC_SHA as SSLv2 cipher specs.
  auto hello = sslv2_hello(0x0303, std::string("\x00\xc0\x2f\x00\x00\x2f", 6));
  for (std::size_t step : {1, 2, 3, 100}) {
    ClientHelloReader reader;
    ASSERT_EQ(read_in_steps(reader, hello, step), ClientHelloReader::State::Done) << reader.error();
    EXPECT_TRUE(reader.info().sslv2);
    EXPECT_EQ(reader.info().sni, "");
    EXPECT_EQ(reader.info().versions, (std::vector<std::string>{"TLS 1.2"}));
  }
  ClientHelloReader truncated;
  EXPECT_EQ(truncated.feed(hello.substr(0, hello.size() - 1)), ClientHelloReader::State::NeedMore);
  ClientHelloReader bad;  // a challenge length beyond the record
  auto broken = hello;
  broken[8] = '\x7f';
  EXPECT_EQ(bad.feed(broken), ClientHelloReader::State::Malformed);
  ClientHelloReader other;  // the high bit set, but no CLIENT-HELLO
  EXPECT_EQ(other.feed(std::string("\x80\x10\x04", 3)), ClientHelloReader::State::NotTls);
}

}  // namespace
}  // namespace tlslab::proxy
