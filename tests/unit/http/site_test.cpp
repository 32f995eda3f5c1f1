// The pure parts of what `tlslab serve` answers: response heads, the built-in pages, files under a
// root (ranges, 304, indexes, escapes) and the small-file cache.
#include "http/site.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "support/temp_dir.hpp"

namespace tlslab::http {
namespace {

namespace bhttp = boost::beast::http;

Request get(const std::string& target, std::initializer_list<std::pair<bhttp::field, std::string>> fields = {}) {
  Request req{bhttp::verb::get, target, 11};
  for (const auto& [name, value] : fields) req.set(name, value);
  return req;
}

std::string head_of(const Reply& reply, unsigned version, bool keep_alive) {
  std::string out;
  append_response_head(out, reply, version, keep_alive, "Sat, 28 Nov 2026 21:08:04 GMT");
  return out;
}

std::string body_of(const Reply& reply) {
  if (!reply.file) return reply.body;
  if (reply.file->data) return reply.file->data->substr(reply.file->offset, reply.file->length);
  std::string out(reply.file->length, '\0');
  EXPECT_EQ(::pread(reply.file->fd.get(), out.data(), out.size(), static_cast<off_t>(reply.file->offset)),
            static_cast<ssize_t>(out.size()));
  return out;
}

std::string header(const Reply& reply, const std::string& name) {
  for (const auto& [n, v] : reply.headers)
    if (n == name) return v;
  return {};
}

TEST(ResponseHead, KeepAliveFollowsTheVersion) {
  Reply r;
  r.body = "hello";
  EXPECT_EQ(head_of(r, 11, true),
            "HTTP/1.1 200 OK\r\nServer: tlslab\r\nDate: Sat, 28 Nov 2026 21:08:04 GMT\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\n");
  EXPECT_NE(head_of(r, 11, false).find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(head_of(r, 10, true).find("HTTP/1.0 200 OK\r\n"), std::string::npos);
  EXPECT_NE(head_of(r, 10, true).find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(head_of(r, 10, false).find("Connection:"), std::string::npos);
}

TEST(ResponseHead, NotModifiedHasNoTypeOrLength) {
  Reply r;
  r.status = 304;
  r.headers.emplace_back("Last-Modified", "x");
  auto head = head_of(r, 11, true);
  EXPECT_EQ(head.rfind("HTTP/1.1 304 Not Modified\r\n", 0), 0u);
  EXPECT_EQ(head.find("Content-Type"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  EXPECT_NE(head.find("Last-Modified: x\r\n"), std::string::npos);
}

TEST(Builtin, PagesAndJson) {
  nlohmann::json facts{{"tls_version", "TLSv1.3"}, {"sni", "www.bank32.com"}, {"resumed", false}};
  auto page = builtin_reply(get("/"), facts);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<h1>Your TLS connection to www.bank32.com</h1>"), std::string::npos);
  EXPECT_NE(page.body.find("<td id=\"resumed\"><code>no</code></td>"), std::string::npos);
  auto json = builtin_reply(get("/.well-known/tlslab"), facts);
  EXPECT_EQ(json.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(json.body), facts);
  auto negotiated = builtin_reply(get("/", {{bhttp::field::accept, "application/json"}}), facts);
  EXPECT_EQ(nlohmann::json::parse(negotiated.body), facts);
  EXPECT_EQ(builtin_reply(get("/nothing"), facts).status, 404u);
}

TEST(Builtin, EscapesWhatTheClientSent) {
  nlohmann::json facts{{"sni", "<script>"}, {"user_agent", "\"ua\" & co"}};
  auto page = builtin_reply(get("/"), facts);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(page.body.find("&quot;ua&quot; &amp; co"), std::string::npos);
}

Request login(const std::string& body) {
  Request req{bhttp::verb::post, "/login", 11};
  req.body() = body;
  return req;
}

TEST(Builtin, LoginFormIsDecodedAsAForm) {
  auto welcome = [](const std::string& body) {
    auto page = builtin_reply(login(body), {}).body;
    auto start = page.find("<h1 id=\"welcome\">");
    return start == std::string::npos ? page : page.substr(start, page.find("</h1>", start) - start);
  };
  EXPECT_EQ(welcome("username=al%69ce+b&password=x"), "<h1 id=\"welcome\">Welcome, alice b");
  EXPECT_EQ(welcome("password=x&username=a%2Bb%2fc"), "<h1 id=\"welcome\">Welcome, a+b/c");
  EXPECT_EQ(welcome("username=%C3%A9"), "<h1 id=\"welcome\">Welcome, \xC3\xA9");
  // A malformed escape or an encoded NUL: the field counts as not given.
  for (const char* bad : {"username=bad%zz", "username=bad%4", "username=bad%", "username=a%00b"})
    EXPECT_EQ(welcome(bad), "<h1 id=\"welcome\">Welcome, anonymous") << bad;
  EXPECT_THAT(builtin_reply(login("username=alice&password=%G1"), {}).body,
              ::testing::HasSubstr("No password was given."));
  EXPECT_THAT(builtin_reply(login("username=alice&password=%41"), {}).body,
              ::testing::HasSubstr("Your password travelled inside TLS."));
}

TEST(Echo, ReturnsTheRequest) {
  Request req{bhttp::verb::post, "/a?b=c", 11};
  req.set(bhttp::field::host, "x");
  req.body() = "data";
  EXPECT_EQ(echo_reply(req).body, "POST /a?b=c HTTP/1.1\r\nHost: x\r\n\r\ndata");
}

TEST(HttpDate, RoundTrips) {
  EXPECT_EQ(http_date(1795900084), "Sat, 28 Nov 2026 21:08:04 GMT");
  EXPECT_EQ(parse_http_date("Sat, 28 Nov 2026 21:08:04 GMT"), 1795900084);
  EXPECT_FALSE(parse_http_date("yesterday"));
}

class Root : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = tmp_.path() / "site";
    std::filesystem::create_directories(dir / "docs");
    write(dir / "data.bin", std::string("0123456789"));
    write(dir / "docs" / "index.html", "index");
    write(tmp_.path() / "secret.txt", "secret");
    std::filesystem::create_symlink(tmp_.path() / "secret.txt", dir / "escape");
    root_.emplace(dir);
  }
  static void write(const std::filesystem::path& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
  }
  testing::TempDir tmp_;
  std::optional<StaticRoot> root_;
};

TEST_F(Root, RangesAndNotModified) {
  auto whole = root_->reply(get("/data.bin"));
  EXPECT_EQ(whole.status, 200u);
  EXPECT_EQ(body_of(whole), "0123456789");
  EXPECT_EQ(whole.content_type, "application/octet-stream");
  auto part = root_->reply(get("/data.bin", {{bhttp::field::range, "bytes=2-4"}}));
  EXPECT_EQ(part.status, 206u);
  EXPECT_EQ(body_of(part), "234");
  EXPECT_EQ(header(part, "Content-Range"), "bytes 2-4/10");
  EXPECT_EQ(body_of(root_->reply(get("/data.bin", {{bhttp::field::range, "bytes=-3"}}))), "789");
  EXPECT_EQ(body_of(root_->reply(get("/data.bin", {{bhttp::field::range, "bytes=7-"}}))), "789");
  EXPECT_EQ(root_->reply(get("/data.bin", {{bhttp::field::range, "bytes=10-"}})).status, 416u);
  // Several ranges are not served as multipart: the whole file.
  EXPECT_EQ(root_->reply(get("/data.bin", {{bhttp::field::range, "bytes=0-1,3-4"}})).status, 200u);
  auto modified = header(whole, "Last-Modified");
  EXPECT_EQ(root_->reply(get("/data.bin", {{bhttp::field::if_modified_since, modified}})).status, 304u);
}

TEST_F(Root, SiteReplyKeepsTheConnectionPageUnlessAFileHasItsName) {
  nlohmann::json facts = {{"protocol", "h2"}};
  int asked = 0;
  auto get_facts = [&]() -> const nlohmann::json& { return ++asked, facts; };
  auto page = site_reply(get("/.well-known/tlslab"), &*root_, false, nullptr, get_facts);
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(page.body)["protocol"], "h2");
  EXPECT_EQ(site_reply(get("/data.bin"), &*root_, false, nullptr, get_facts).status, 200u);
  EXPECT_EQ(site_reply(get("/nothing"), &*root_, false, nullptr, get_facts).status, 404u);
  EXPECT_EQ(asked, 1);  // the facts only for the page that shows them
  std::filesystem::create_directories(tmp_.path() / "site" / ".well-known");
  write(tmp_.path() / "site" / ".well-known" / "tlslab", "mine");
  EXPECT_EQ(body_of(site_reply(get("/.well-known/tlslab"), &*root_, false, nullptr, get_facts)), "mine");
  EXPECT_THAT(site_reply(get("/x"), nullptr, true, nullptr, get_facts).body, ::testing::HasSubstr("GET /x"));
}

TEST_F(Root, DirectoriesAndEscapes) {
  EXPECT_EQ(body_of(root_->reply(get("/docs/"))), "index");
  auto moved = root_->reply(get("/docs"));
  EXPECT_EQ(moved.status, 301u);
  EXPECT_EQ(header(moved, "Location"), "/docs/");
  EXPECT_EQ(root_->reply(get("/missing")).status, 404u);
  for (const char* path : {"/../secret.txt", "/%2e%2e/secret.txt", "/docs/../../secret.txt", "/escape"})
    EXPECT_EQ(root_->reply(get(path)).status, 403u) << path;
  EXPECT_EQ(root_->reply(get("/%00")).status, 400u);
}

TEST_F(Root, PathsArePercentDecodedWithoutFormPlus) {
  write(tmp_.path() / "site" / "a+b", "plus");
  write(tmp_.path() / "site" / "a b", "space");
  EXPECT_EQ(body_of(root_->reply(get("/a+b"))), "plus");  // '+' is a space only in forms
  EXPECT_EQ(body_of(root_->reply(get("/a%20b"))), "space");
  EXPECT_EQ(body_of(root_->reply(get("/a%2Bb"))), "plus");
  EXPECT_EQ(body_of(root_->reply(get("/data%2ebin?x=%zz"))), "0123456789");  // the query is not decoded
  for (const char* bad : {"/data.bin%", "/data.bin%4", "/da%zzta.bin", "/%2", "/a%00b", "data.bin"})
    EXPECT_EQ(root_->reply(get(bad)).status, 400u) << bad;
}

TEST_F(Root, CacheServesSmallFilesUntilTheyChange) {
  FileCache cache;
  auto first = root_->reply(get("/data.bin"), &cache);
  ASSERT_TRUE(first.file && first.file->data);
  EXPECT_LT(first.file->fd.get(), 0);  // nothing stays open
  auto second = root_->reply(get("/data.bin"), &cache);
  EXPECT_EQ(second.file->data, first.file->data);  // the same bytes, not read again
  EXPECT_EQ(body_of(root_->reply(get("/data.bin", {{bhttp::field::range, "bytes=1-2"}}), &cache)), "12");
  write(tmp_.path() / "site" / "data.bin", "changed");
  auto third = root_->reply(get("/data.bin"), &cache);
  EXPECT_EQ(body_of(third), "changed");
  EXPECT_NE(third.file->data, first.file->data);
  // Too big for the cache: streamed from the file.
  FileCache tiny(4);
  auto big = root_->reply(get("/data.bin"), &tiny);
  EXPECT_FALSE(big.file->data);
  EXPECT_EQ(body_of(big), "changed");
}

}  // namespace
}  // namespace tlslab::http
