#include "report/serve_render.hpp"

#include <gtest/gtest.h>

namespace tlslab::report {
namespace {

constexpr std::time_t kTime = 1'795'900'084;  // 28/Nov/2026:21:08:04 UTC

tls::ConnectionFacts tls13(std::string client_certificate = {}) {
  tls::ConnectionFacts f;
  f.version = "TLSv1.3";
  f.cipher_iana = "TLS_AES_128_GCM_SHA256";
  f.sni = "www.bank32.com";
  f.client_certificate = std::move(client_certificate);
  return f;
}

serve::AccessEvent get(const tls::ConnectionFacts& tls) {
  return {.time = kTime,
          .client = "127.0.0.1",
          .method = "GET",
          .target = "/index.html?x=1",
          .version = 11,
          .status = 200,
          .bytes = 612,
          .referer = std::nullopt,
          .user_agent = "curl/7.88.1",
          .tls = &tls};
}

TEST(ServeRender, ClfTime) { EXPECT_EQ(clf_time(kTime), "28/Nov/2026:21:08:04 +0000"); }

TEST(ServeRender, AccessLineInTheCombinedFormat) {
  auto tls = tls13();
  std::string out;
  append_access_line(out, get(tls), false);
  EXPECT_EQ(out,
            "127.0.0.1 - - [28/Nov/2026:21:08:04 +0000] \"GET /index.html?x=1 HTTP/1.1\" 200 612 \"-\" "
            "\"curl/7.88.1\" TLSv1.3 TLS_AES_128_GCM_SHA256\n");
  // Appended: a buffer holds several lines.
  auto alice = tls13("CN=alice");
  auto e = get(alice);
  e.version = 20;
  e.referer = "https://www.bank32.com/";
  append_access_line(out, e, false);
  EXPECT_EQ(out.substr(out.find('\n') + 1),
            "127.0.0.1 - - [28/Nov/2026:21:08:04 +0000] \"GET /index.html?x=1 HTTP/2.0\" 200 612 "
            "\"https://www.bank32.com/\" \"curl/7.88.1\" TLSv1.3 TLS_AES_128_GCM_SHA256 \"CN=alice\"\n");
}

TEST(ServeRender, AccessLineAsJson) {
  auto tls = tls13();
  std::string out;
  append_access_line(out, get(tls), true);
  EXPECT_EQ(out,
            R"({"bytes":612,"cipher":"TLS_AES_128_GCM_SHA256","client":"127.0.0.1","client_certificate":null,)"
            R"("method":"GET","protocol":"HTTP/1.1","referer":"-","resumed":false,"sni":"www.bank32.com",)"
            R"("status":200,"target":"/index.html?x=1","time":"28/Nov/2026:21:08:04 +0000","tls_version":"TLSv1.3",)"
            R"("user_agent":"curl/7.88.1"})"
            "\n");
}

TEST(ServeRender, ErrorLines) {
  serve::ClientError e{.time = kTime, .client = "::1", .what = "sent nothing in 10 s; closed"};
  std::string out;
  append_error_line(out, e, false);
  EXPECT_EQ(out, "tlslab serve: ::1: sent nothing in 10 s; closed\n");
  out.clear();
  append_error_line(out, e, true);
  EXPECT_EQ(out, R"({"client":"::1","error":"sent nothing in 10 s; closed","time":"28/Nov/2026:21:08:04 +0000"})"
                 "\n");
}

TEST(ServeRender, Notices) {
  using Kind = serve::Notice::Kind;
  auto line = [](Kind kind, std::string_view detail) {
    std::string out;
    append_notice_line(out, {kind, detail});
    return out;
  };
  EXPECT_EQ(line(Kind::CannotTakeConnection, "Too many open files"),
            "tlslab serve: cannot take a connection: Too many open files\n");
  EXPECT_EQ(line(Kind::ConnectionEndedByError, "bad_alloc"), "tlslab serve: connection ended by an error: bad_alloc\n");
  EXPECT_EQ(line(Kind::Reloaded, {}), "tlslab serve: SIGHUP: certificates reloaded; open connections keep theirs\n");
  EXPECT_EQ(line(Kind::ReloadFailed, "server.pem: no certificate"),
            "tlslab serve: SIGHUP: reload failed, keeping the old certificates: server.pem: no certificate\n");
}

}  // namespace
}  // namespace tlslab::report
