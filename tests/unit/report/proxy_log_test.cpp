// The proxy's log, event by event: the exact bytes each one prints, as text and as --log-json, and
// on which stream.
#include "report/proxy_log.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "report/flow_render.hpp"

namespace tlslab::report {
namespace {

namespace ev = proxy::log_event;

const ProxyLogStyle kText{false, false};
const ProxyLogStyle kJson{true, false};
const ProxyLogStyle kDump{false, true};
const ProxyLogStyle kJsonDump{true, true};

constexpr const char* kClient = "127.0.0.1:50312";
constexpr const char* kHost = "www.bank32.com";

// Render checks that an event goes to `stream` and returns its text.
std::string render(const proxy::LogEvent& event, const ProxyLogStyle& style, LogStream stream) {
  auto out = render_proxy_log(event, style);
  EXPECT_EQ(out.stream, stream);
  return out.text;
}

proxy::Legs tls13_h2() { return {"TLSv1.3", "h2", "TLSv1.3", "h2", true}; }

proxy::Flow answered_login() {
  proxy::Flow f;
  f.host = kHost;
  f.method = "POST";
  f.target = "/login";
  f.request_headers = {{"Host", kHost}, {"Content-Type", "application/x-www-form-urlencoded"}};
  f.request_body = "username=alice&password=********";
  f.request_body_bytes = 32;
  f.status = 200;
  f.reason = "OK";
  f.response_headers = {{"Content-Type", "text/plain"}};
  f.response_body = "welcome\n";
  f.response_body_bytes = 8;
  f.started_ms = 1000;
  f.request_done_ms = 1000.25;
  f.response_start_ms = 1001;
  f.response_done_ms = 1001.5;
  f.complete = true;
  return f;
}

ev::FlowEnded login_ended() {
  return {kClient, answered_login(), {{"form field", "password", "s3cret"}}, true, 1024, "127.0.0.1:14600", tls13_h2()};
}

TEST(ProxyLog, FlowEndedIsOneLineOnStdout) {
  EXPECT_EQ(render(login_ended(), kText, LogStream::Out),
            "127.0.0.1:50312 www.bank32.com \"POST https://www.bank32.com/login\" 200 up 32 B, down 8 B, 1.5 ms "
            "(first byte 1.0 ms)");
  EXPECT_EQ(render(login_ended(), kJson, LogStream::Out),
            R"({"bytes_down":8,"bytes_up":32,"client":"127.0.0.1:50312","complete":true,"error":null,)"
            R"("host":"www.bank32.com","method":"POST","ms":1.5,"status":200,"ttfb_ms":1.0,)"
            R"("url":"https://www.bank32.com/login"})");
}

TEST(ProxyLog, FlowEndedWithDumpIsFollowedByTheExchangeInOneWrite) {
  const std::string dump =
      "──── 127.0.0.1:50312 → www.bank32.com (127.0.0.1:14600; client TLSv1.3 h2, server TLSv1.3 h2, resumed)\n"
      "> POST /login HTTP/1.1\n"
      "> Host: www.bank32.com\n"
      "> Content-Type: application/x-www-form-urlencoded\n"
      "> \n"
      "> username=alice&password=********\n"
      "  !! form field password = ********\n"
      "< HTTP/1.1 200 OK\n"
      "< Content-Type: text/plain\n"
      "< \n"
      "< welcome\n"
      "\n";
  EXPECT_EQ(render(login_ended(), kDump, LogStream::Out),
            "127.0.0.1:50312 www.bank32.com \"POST https://www.bank32.com/login\" 200 up 32 B, down 8 B, 1.5 ms "
            "(first byte 1.0 ms)\n" +
                dump);
  // The JSON line, then the same block of text: --dump is for people.
  auto json = render(login_ended(), kJsonDump, LogStream::Out);
  EXPECT_EQ(json.substr(json.find('\n') + 1), dump);
  // Not masked (no --redact): the spotlight shows the value found.
  auto plain = login_ended();
  plain.masked = false;
  EXPECT_NE(render(plain, kDump, LogStream::Out).find("  !! form field password = s3cret\n"), std::string::npos);
}

TEST(ProxyLog, PlainHttpFlowHasNoLegs) {
  auto e = login_ended();
  e.legs.reset();
  e.flow.scheme = "http";
  auto text = render(e, kDump, LogStream::Out);
  EXPECT_NE(text.find("\n──── 127.0.0.1:50312 → www.bank32.com (127.0.0.1:14600; )\n"), std::string::npos) << text;
}

std::shared_ptr<proxy::Forged> forged(proxy::ForgeSource origin, std::string file) {
  auto f = std::make_shared<proxy::Forged>();
  f->info.serial_hex = "3A:F2:01";
  f->origin = origin;
  f->mint_us = 812.4;
  f->file = std::move(file);
  return f;
}

TEST(ProxyLog, CertificateForgedSaysWhereItCameFrom) {
  ev::CertificateForged minted{kClient, kHost, {forged(proxy::ForgeSource::Minted, ""), proxy::ForgeSource::Minted}};
  EXPECT_EQ(render(minted, kText, LogStream::Out),
            "127.0.0.1:50312 www.bank32.com forged certificate minted in 812 µs (serial 3A:F2:01)");
  EXPECT_EQ(render(minted, kJson, LogStream::Out),
            R"({"client":"127.0.0.1:50312","file":"","forged":"minted","host":"www.bank32.com",)"
            R"("serial":"3A:F2:01","us":812.4})");
  ev::CertificateForged stored{
      kClient, kHost, {forged(proxy::ForgeSource::Minted, "/c/www.pem"), proxy::ForgeSource::Minted}};
  EXPECT_EQ(render(stored, kText, LogStream::Out),
            "127.0.0.1:50312 www.bank32.com forged certificate minted in 812 µs, stored as /c/www.pem (serial "
            "3A:F2:01)");
  ev::CertificateForged loaded{
      kClient, kHost, {forged(proxy::ForgeSource::Disk, "/c/www.pem"), proxy::ForgeSource::Disk}};
  EXPECT_EQ(render(loaded, kText, LogStream::Out),
            "127.0.0.1:50312 www.bank32.com forged certificate loaded from /c/www.pem in 812 µs (serial 3A:F2:01)");
  EXPECT_EQ(render(loaded, kJson, LogStream::Out),
            R"({"client":"127.0.0.1:50312","file":"/c/www.pem","forged":"disk","host":"www.bank32.com",)"
            R"("serial":"3A:F2:01","us":812.4})");
}

pki::CertInfo leaf(const std::string& issuer) {
  pki::CertInfo c;
  c.subject = "CN=www.bank32.com";
  c.issuer = issuer;
  c.serial_hex = "01";
  c.not_before = 1'700'000'000;
  c.not_after = 1'700'000'000 + 90 * 86400;
  c.sans = {{pki::SanType::Dns, "www.bank32.com"}};
  c.key_type = "EC";
  c.key_bits = 256;
  c.key_curve = "P-256";
  c.signature_algorithm = "ecdsa-with-SHA256";
  c.sha256_fingerprint = "AB:CD";
  return c;
}

TEST(ProxyLog, ForgeryShownIsTheRealAndTheForgedCertificateInTextAlways) {
  auto f = forged(proxy::ForgeSource::Minted, "");
  f->info = leaf("CN=tlslab proxy CA");
  ev::ForgeryShown shown{kHost, leaf("CN=Upstream Root"), {f, proxy::ForgeSource::Memory}, 1'700'000'000 + 86400};
  const std::string rows =
      "    Subject:        CN=www.bank32.com\n"
      "    Issuer:         {}\n"
      "    Serial:         01\n"
      "    Valid:          2023-11-14 22:13:20 UTC -> 2024-02-12 22:13:20 UTC  (89 days left)\n"
      "    Names (SAN):    DNS:www.bank32.com\n"
      "    Key:            EC P-256 (256 bits)\n"
      "    Signature:      ecdsa-with-SHA256\n"
      "    SHA-256:        AB:CD\n"
      "    Constraints:    none (not a CA)\n"
      "    Key usage:      any (no extension)\n"
      "    Extended usage: any (no extension)\n";
  auto with_issuer = [&](const std::string& issuer) {
    auto out = rows;
    out.replace(out.find("{}"), 2, issuer);
    return out;
  };
  auto text = render(shown, kJson, LogStream::Out);
  EXPECT_EQ(text,
            "Forged certificate for www.bank32.com (from memory, first minted in 812 µs)\n"
            "  real (from the server)\n" +
                with_issuer("CN=Upstream Root") + "  forged (sent to the client)\n" +
                with_issuer("CN=tlslab proxy CA"));
  shown.real.reset();
  EXPECT_EQ(render(shown, kText, LogStream::Out),
            "Forged certificate for www.bank32.com (from memory, first minted in 812 µs)\n"
            "  forged (sent to the client)\n" +
                with_issuer("CN=tlslab proxy CA"));
}

TEST(ProxyLog, ConnectionEndedCountsTheBytesInTextAlways) {
  ev::ConnectionEnded passed{kClient, kHost, ev::RelayEnd::PassedThrough, std::nullopt, "", 517, 4096};
  ev::ConnectionEnded closed{kClient, kHost, ev::RelayEnd::Closed, tls13_h2(), "", 30, 189};
  ev::ConnectionEnded opaque{kClient, kHost, ev::RelayEnd::Opaque, proxy::Legs{"TLSv1.2", "", "TLSv1.2", "imap"}, "",
                             7,       0};
  ev::ConnectionEnded stopped{kClient, kHost, ev::RelayEnd::StoppedParsing, tls13_h2(), "a protocol upgrade", 1, 2};
  for (const auto& style : {kText, kJson}) {
    EXPECT_EQ(render(passed, style, LogStream::Out),
              "127.0.0.1:50312 www.bank32.com passed through untouched (--pass): up 517 B, down 4096 B");
    EXPECT_EQ(render(closed, style, LogStream::Out),
              "127.0.0.1:50312 www.bank32.com (client TLSv1.3 h2, server TLSv1.3 h2, resumed): closed, up 30 B, "
              "down 189 B");
    EXPECT_EQ(render(opaque, style, LogStream::Out),
              "127.0.0.1:50312 www.bank32.com (client TLSv1.2, server TLSv1.2 imap): relayed as opaque bytes, up 7 B, "
              "down 0 B");
    EXPECT_EQ(render(stopped, style, LogStream::Out),
              "127.0.0.1:50312 www.bank32.com: stopped parsing HTTP (a protocol upgrade); relayed the rest as bytes, "
              "up 1 B, down 2 B");
  }
}

TEST(ProxyLog, ClientErrorsGoToStderrWithTheClient) {
  ev::ClientError e{kClient, "cannot resolve nowhere.test: Host not found"};
  EXPECT_EQ(render(e, kText, LogStream::Err),
            "tlslab proxy: 127.0.0.1:50312: cannot resolve nowhere.test: Host not found");
  EXPECT_EQ(render(e, kJson, LogStream::Err),
            R"({"client":"127.0.0.1:50312","error":"cannot resolve nowhere.test: Host not found"})");
  ev::ConnectionFailed failed{kClient, "bad_alloc"};
  EXPECT_EQ(render(failed, kText, LogStream::Err), "tlslab proxy: 127.0.0.1:50312: connection failed: bad_alloc");
  EXPECT_EQ(render(failed, kJson, LogStream::Err),
            R"({"client":"127.0.0.1:50312","error":"connection failed: bad_alloc"})");
  ev::HttpStopped http{kClient, kHost, "the server broke HTTP/2 (PROTOCOL_ERROR)"};
  EXPECT_EQ(render(http, kText, LogStream::Err),
            "tlslab proxy: 127.0.0.1:50312: www.bank32.com: HTTP stopped: the server broke HTTP/2 (PROTOCOL_ERROR)");
  EXPECT_EQ(render(http, kJson, LogStream::Err),
            R"({"client":"127.0.0.1:50312","error":"www.bank32.com: HTTP stopped: the server broke HTTP/2 )"
            "(PROTOCOL_ERROR)\"}");
}

TEST(ProxyLog, ClientLineIsTextOnStdout) {
  ev::ClientLine line{kClient, "said hello"};
  EXPECT_EQ(render(line, kText, LogStream::Out), "127.0.0.1:50312 said hello");
  EXPECT_EQ(render(line, kJson, LogStream::Out), "127.0.0.1:50312 said hello");
}

TEST(ProxyLog, ClientRefusedNamesTheKindInJson) {
  ev::ClientRefused e{kClient, kHost,
                      proxy::ClientFailure{proxy::ClientFailureKind::DistrustsCa, "the client does not trust the CA"}};
  EXPECT_EQ(render(e, kText, LogStream::Err),
            "tlslab proxy: 127.0.0.1:50312: the TLS handshake with the client for www.bank32.com failed: the client "
            "does not trust the CA");
  EXPECT_EQ(render(e, kJson, LogStream::Err),
            R"({"client":"127.0.0.1:50312","client_failure":"distrusts_ca","error":"the client does not trust the CA",)"
            R"("host":"www.bank32.com"})");
}

TEST(ProxyLog, UnreadableHelloSaysWhatOpenSslAnswered) {
  ev::UnreadableHello not_tls{kClient, true, "an HTTP request", false,
                              proxy::ClientFailure{proxy::ClientFailureKind::NotTls, "it was not TLS"}};
  EXPECT_EQ(render(not_tls, kText, LogStream::Err),
            "tlslab proxy: 127.0.0.1:50312: not a TLS client (an HTTP request); OpenSSL answered it: it was not TLS; "
            "closed");
  EXPECT_EQ(render(not_tls, kJson, LogStream::Err),
            R"({"client":"127.0.0.1:50312","error":"not a TLS client (an HTTP request); OpenSSL answered it: it was )"
            R"(not TLS; closed"})");
  ev::UnreadableHello read{kClient, false, "a truncated extension", true, {}};
  EXPECT_EQ(render(read, kText, LogStream::Err),
            "tlslab proxy: 127.0.0.1:50312: an unreadable ClientHello (a truncated extension); OpenSSL read a "
            "ClientHello there nonetheless, refused with handshake_failure (please report this); closed");
}

TEST(ProxyLog, NotesAreAboutTheProxy) {
  EXPECT_EQ(render(ev::Note{"ignored /c/x.pem: not a certificate"}, kText, LogStream::Err),
            "tlslab proxy: ignored /c/x.pem: not a certificate");
  EXPECT_EQ(render(ev::Note{"ignored /c/x.pem: not a certificate"}, kJson, LogStream::Err),
            R"({"note":"ignored /c/x.pem: not a certificate"})");
  EXPECT_EQ(render(ev::HarNotWritten{"cannot write f.har: No space left on device"}, kText, LogStream::Err),
            "tlslab proxy: cannot write f.har: No space left on device (trying again every second)");
  EXPECT_EQ(render(ev::HarNotWritten{"cannot write f.har"}, kJson, LogStream::Err),
            "{\"note\":\"cannot write f.har (trying again every second)\"}");
}

TEST(ProxyLog, ForgesCountedAveragesOnlyWhatWasCounted) {
  proxy::ForgeStats none;
  EXPECT_EQ(render(ev::ForgesCounted{none, ""}, kJson, LogStream::Err),
            "tlslab proxy: forged 0 certificates, 0 cache hits");
  proxy::ForgeStats one{1, 1, 0, 812.4, 0};
  EXPECT_EQ(render(ev::ForgesCounted{one, ""}, kText, LogStream::Err),
            "tlslab proxy: forged 1 certificate (812 µs each on average), 1 cache hit");
  proxy::ForgeStats loaded{5, 2, 3, 1000, 300};
  EXPECT_EQ(render(ev::ForgesCounted{loaded, "/c"}, kText, LogStream::Err),
            "tlslab proxy: forged 2 certificates (500 µs each on average), loaded 3 from /c (100 µs each on "
            "average), 5 cache hits");
  EXPECT_EQ(render(ev::ForgesCounted{none, "/c"}, kText, LogStream::Err),
            "tlslab proxy: forged 0 certificates, loaded 0 from /c, 0 cache hits");
}

TEST(ProxyLog, HarWrittenCountsTheExchanges) {
  EXPECT_EQ(render(ev::HarWritten{"flows.har", 1}, kText, LogStream::Err),
            "tlslab proxy: wrote 1 exchange to flows.har");
  EXPECT_EQ(render(ev::HarWritten{"flows.har", 2}, kJson, LogStream::Err),
            "tlslab proxy: wrote 2 exchanges to flows.har");
}

TEST(ProxyLog, LegsNameVersionsProtocolsAndResumption) {
  EXPECT_EQ(legs_text(proxy::Legs{"TLSv1.3", "", "TLSv1.2", "", false}), "client TLSv1.3, server TLSv1.2");
  EXPECT_EQ(legs_text(tls13_h2()), "client TLSv1.3 h2, server TLSv1.3 h2, resumed");
  EXPECT_EQ(legs_text(std::nullopt), "");
}

}  // namespace
}  // namespace tlslab::report
