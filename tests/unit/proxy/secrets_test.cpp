#include "proxy/secrets.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/har.hpp"

namespace tlslab::proxy {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;

// The password of these tests: a '%' that looks like an escape, a quote, a non-ASCII letter.
const std::string kPassword = "p@ss%21\"w\xC3\xB6rd";  // p@ss%21"wörd

std::string percent(std::string_view s, bool lower, bool plus) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c))
      out += static_cast<char>(c);
    else if (c == ' ' && plus)
      out += '+';
    else
      out += {'%', (lower ? "0123456789abcdef" : "0123456789ABCDEF")[c >> 4],
              (lower ? "0123456789abcdef" : "0123456789ABCDEF")[c & 15]};
  }
  return out;
}

// spellings lists the ways a secret may be written in text that carries it.
std::vector<std::string> spellings(const std::string& secret) {
  std::vector<std::string> out{secret, percent(secret, false, false), percent(secret, true, false),
                               percent(secret, false, true)};
  for (bool ascii : {false, true}) {
    auto quoted = nlohmann::json(secret).dump(-1, ' ', ascii);
    out.push_back(quoted.substr(1, quoted.size() - 2));
  }
  return out;
}

void expect_gone(const std::string& text, const std::string& secret) {
  for (const auto& s : spellings(secret)) EXPECT_THAT(text, Not(HasSubstr(s))) << "spelling: " << s;
}

// everything is a flow's text in all its places, as --dump and the HAR show them.
std::string everything(const Flow& f) {
  std::string out = f.url() + "\n" + f.request_body + "\n" + f.response_body + "\n" + f.reason + "\n" + f.error;
  for (const auto* h : {&f.request_headers, &f.response_headers, &f.request_trailers, &f.response_trailers})
    for (const auto& [n, v] : *h) out += n + ": " + v + "\n";
  return out + har_document({har_entry(f)}, "1.0").dump();
}

// An echo server answers with everything the client sent, in text/plain: the secret in every
// spelling, to be found without a structure to read.
std::string echo_of(const std::string& secret) {
  std::string out;
  for (const auto& s : spellings(secret)) out += "seen: " + s + "\n";
  return out;
}

Flow post(std::string content_type, std::string body, std::string target = "/login") {
  Flow f;
  f.client = "127.0.0.1:5000";
  f.host = "www.bank32.com";
  f.method = "POST";
  f.target = std::move(target);
  f.request_headers = {{"Host", "www.bank32.com"}, {"Content-Type", std::move(content_type)}};
  f.request_body = std::move(body);
  f.request_body_bytes = f.request_body.size();
  f.status = 200;
  f.reason = "OK";
  f.response_headers = {{"Content-Type", "text/plain"}};
  f.response_body = echo_of(kPassword);
  f.response_body_bytes = f.response_body.size();
  f.complete = true;
  return f;
}

TEST(Secrets, FormFieldDecodedAndMaskedInEverySpelling) {
  auto f = post("application/x-www-form-urlencoded", "username=alice&password=p%40ss%2521%22w%C3%B6rd&remember=1");
  auto secrets = find_secrets(f);
  ASSERT_EQ(secrets.size(), 1u);
  EXPECT_EQ(secrets[0].where, "form field");
  EXPECT_EQ(secrets[0].name, "password");
  EXPECT_EQ(secrets[0].value, kPassword);
  auto r = redact_flow(f, secrets);
  EXPECT_EQ(r.request_body, "username=alice&password=********&remember=1");
  EXPECT_THAT(r.response_body, HasSubstr("seen: ********\n"));
  expect_gone(everything(r), kPassword);
}

TEST(Secrets, FormWithoutEncodingIsReadAsServersReadIt) {
  // s3cr%21t is s3cr!t to the server: the raw body must not keep the encoded form.
  auto f = post("application/x-www-form-urlencoded", "user=alice&password=s3cr%21t&note=a+b");
  auto secrets = find_secrets(f);
  ASSERT_THAT(secrets, Contains(Field(&Secret::value, "s3cr!t")));
  auto r = redact_flow(f, secrets);
  EXPECT_EQ(r.request_body, "user=alice&password=********&note=a+b");
  // A raw quote and a non-ASCII byte in a form: made lenient, then parsed.
  f = post("application/x-www-form-urlencoded", "password=" + kPassword);
  EXPECT_THAT(find_secrets(f), Contains(Field(&Secret::value, "p@ss!\"w\xC3\xB6rd")));
  EXPECT_EQ(redact_flow(f).request_body, "password=********");
}

TEST(Secrets, JsonWalkedWholeWithEscapesAndOrderKept) {
  auto body = std::string(R"({"user": {"name": "alice", "Password": "p@ss%21\"w\u00f6rd"},)") +
              R"( "keys": [{"api_key": "k-123456"}, {"client_secret": {"v": 42424242}}], "n": 1.5})";
  auto f = post("application/json; charset=utf-8", body);
  auto secrets = find_secrets(f);
  EXPECT_THAT(secrets, Contains(AllOf(Field(&Secret::where, "JSON field"), Field(&Secret::name, "Password"),
                                      Field(&Secret::value, kPassword))));
  EXPECT_THAT(secrets, Contains(Field(&Secret::value, "k-123456")));
  EXPECT_THAT(secrets, Contains(AllOf(Field(&Secret::name, "client_secret"), Field(&Secret::value, "42424242"))));
  auto r = redact_flow(f, secrets);
  EXPECT_EQ(r.request_body, R"({"user":{"name":"alice","Password":"********"},"keys":[{"api_key":"********"},)"
                            R"({"client_secret":{"v":"********"}}],"n":1.5})");
  expect_gone(everything(r), kPassword);
  expect_gone(everything(r), "k-123456");
  expect_gone(everything(r), "42424242");
}

TEST(Secrets, JsonWithNothingSecretIsLeftAsItCame) {
  auto f = post("application/json", "{ \"name\" : \"alice\" }");
  EXPECT_TRUE(find_secrets(f).empty());
  EXPECT_EQ(redact_flow(f).request_body, "{ \"name\" : \"alice\" }");
}

TEST(Secrets, JsonThatDoesNotParseIsMaskedAsText) {
  // Cut at the body cap: no JSON to walk, but the secret found elsewhere is masked in it.
  auto f = post("application/json", R"({"password": "p@ss%21\"w\u00f6rd", "more": "tex)");
  f.request_headers.emplace_back("X-Api-Key", kPassword);
  auto r = redact_flow(f);
  EXPECT_EQ(r.request_body, R"({"password": "********", "more": "tex)");
  expect_gone(everything(r), kPassword);
}

TEST(Secrets, SurrogatePairsAndHtmlEntities) {
  const std::string key = "\xF0\x9F\x94\x91 p@ss";  // 🔑 p@ss
  auto f = post("application/json", R"({"token": "\ud83d\udd11 p@ss"})");
  f.response_headers = {{"Content-Type", "text/html"}};
  f.response_body = R"(<input value="&#x1F511; p&#64;ss"> <pre>\uD83D\uDD11 p%40ss</pre>)";
  auto r = redact_flow(f);
  EXPECT_EQ(r.request_body, R"({"token":"********"})");
  EXPECT_EQ(r.response_body, R"(<input value="********"> <pre>********</pre>)");
  expect_gone(everything(r), key);
}

TEST(Secrets, QueryStringAndUserInfo) {
  Flow f = post("text/plain", "", "/login?user=alice&password=p%40ss%2521%22w%C3%B6rd&x=a+b");
  auto secrets = find_secrets(f);
  EXPECT_THAT(secrets, Contains(AllOf(Field(&Secret::where, "query"), Field(&Secret::value, kPassword))));
  auto r = redact_flow(f, secrets);
  EXPECT_EQ(r.target, "/login?user=alice&password=********&x=a+b");
  EXPECT_EQ(r.url(), "https://www.bank32.com/login?user=alice&password=********&x=a+b");
  expect_gone(everything(r), kPassword);
  // The HAR's queryString is read from the target: masked too.
  auto har = har_entry(r);
  EXPECT_EQ(har["request"]["queryString"][1]["value"], "********");

  f = post("text/plain", "", "http://alice:hunter22@www.bank32.com/a?session=abcd1234");
  r = redact_flow(f);
  EXPECT_EQ(r.target, "http://alice:********@www.bank32.com/a?session=********");
}

TEST(Secrets, BasicAuthorizationDecodedAndMasked) {
  Flow f = post("text/plain", "");
  // base64("alice:p@ss%21\"wörd")
  const std::string b64 = "YWxpY2U6cEBzcyUyMSJ3w7ZyZA==";
  f.request_headers.emplace_back("Authorization", "Basic " + b64);
  f.response_body = "you sent Authorization: Basic " + b64 + " and alice:" + kPassword;
  auto secrets = find_secrets(f);
  EXPECT_THAT(secrets, Contains(AllOf(Field(&Secret::name, "Authorization (Basic, decoded)"),
                                      Field(&Secret::value, "alice:" + kPassword))));
  auto r = redact_flow(f, secrets);
  EXPECT_EQ(r.request_header("Authorization"), "Basic ********");
  EXPECT_EQ(r.response_body, "you sent Authorization: Basic ******** and ********");
  expect_gone(everything(r), b64);
  expect_gone(everything(r), kPassword);
}

TEST(Secrets, CookiesSetCookieAndTokenHeaders) {
  Flow f = post("text/plain", "");
  f.request_headers.emplace_back("Cookie", "sid=abcdef123456; theme=dark");
  f.request_headers.emplace_back("X-Api-Key", "key-0123456789");
  f.request_headers.emplace_back("Proxy-Authorization", "Bearer eyJhbGciOi.xyz");
  f.response_headers.emplace_back("Set-Cookie", "sid=abcdef123456; Path=/; HttpOnly");
  f.response_body = "your session is abcdef123456, theme dark";
  auto secrets = find_secrets(f);
  EXPECT_THAT(secrets, Contains(AllOf(Field(&Secret::where, "cookie"), Field(&Secret::name, "sid"),
                                      Field(&Secret::value, "abcdef123456"))));
  EXPECT_THAT(secrets, Contains(AllOf(Field(&Secret::where, "response cookie"), Field(&Secret::name, "sid"))));
  auto r = redact_flow(f, secrets);
  EXPECT_EQ(r.request_header("Cookie"), "sid=********; theme=********");
  EXPECT_EQ(r.request_header("X-Api-Key"), "********");
  EXPECT_EQ(r.request_header("Proxy-Authorization"), "Bearer ********");
  EXPECT_EQ(r.response_header("Set-Cookie"), "sid=********; Path=/; HttpOnly");
  // A short cookie value is masked where it stands, not searched for in every text.
  EXPECT_EQ(r.response_body, "your session is ********, theme dark");
}

TEST(Secrets, TrailersAndHttp2FlowsTakeTheSamePath) {
  Flow f = post("application/json", R"({"access_token":"tok-98765"})");
  f.http_version = f.response_version = "HTTP/2.0";
  f.authority = "www.bank32.com";
  f.stream_id = 3;
  f.request_trailers = {{"x-auth-token", "tok-98765"}};
  f.response_trailers = {{"grpc-message", "bad token tok-98765"}};
  f.error = "stream reset by the server (tok-98765)";
  auto r = redact_flow(f);
  EXPECT_EQ(r.request_trailers[0].second, "********");
  EXPECT_EQ(r.response_trailers[0].second, "bad token ********");
  expect_gone(everything(r), "tok-98765");
}

TEST(Secrets, ResponseJsonTokens) {
  Flow f = post("application/x-www-form-urlencoded", "grant_type=client_credentials");
  f.response_headers = {{"Content-Type", "application/json"}};
  f.response_body = R"({"access_token":"at-5555-6666","expires_in":3600})";
  auto secrets = find_secrets(f);
  EXPECT_THAT(secrets,
              Contains(AllOf(Field(&Secret::where, "response JSON field"), Field(&Secret::value, "at-5555-6666"))));
  EXPECT_EQ(redact_flow(f, secrets).response_body, R"({"access_token":"********","expires_in":3600})");
}

TEST(Secrets, Names) {
  for (auto name : {"password", "Password", "user[password]", "new-password", "passwd", "pass", "pwd", "PIN",
                    "access_token", "Access-Token", "apiKey", "api_key", "X-Api-Key", "client_secret", "Authorization",
                    "PHPSESSID", "sessionId", "X-CSRF-Token"})
    EXPECT_TRUE(is_secret_name(name)) << name;
  for (auto name : {"username", "email", "keyboard", "author", "shipping", "passenger_count", "Content-Type",
                    "Sec-WebSocket-Key", "WWW-Authenticate"})
    EXPECT_FALSE(is_secret_name(name)) << name;
}

TEST(Secrets, MaskTextHandlesMixedSpellingsAndLeavesOthersAlone) {
  std::vector<Secret> s{{"form field", "password", kPassword}};
  EXPECT_EQ(mask_text("a p%40ss\\u0025%32%31&quot;w\\u00F6rd b", s), "a ******** b");
  EXPECT_EQ(mask_text("p@ss%21 is not it", s), "p@ss%21 is not it");
  EXPECT_EQ(mask_text("", s), "");
  // A needle of escape characters, each spelled escaped.
  std::vector<Secret> percents{{"form field", "password", std::string(200, '%')}};
  std::string text, rest;
  for (int i = 0; i < 300; ++i) (i < 200 ? text : rest) += "%25";
  EXPECT_EQ(mask_text(text + rest, percents), "********" + rest);
}

}  // namespace
}  // namespace tlslab::proxy
