// Playbooks for proxy::Core: a sequence of events, and exactly the commands expected after each.
#include "proxy/core.hpp"
#include "proxy/translate.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

namespace tlslab::proxy {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string kind_name(command::RelayKind k) {
  switch (k) {
    case command::RelayKind::Raw:
      return "raw";
    case command::RelayKind::Observed:
      return "observed";
    case command::RelayKind::Http:
      return "http";
    case command::RelayKind::Opaque:
      return "opaque";
  }
  return "?";
}
const char* leg(HttpProtocol p) { return p == HttpProtocol::Http2 ? "h2" : "h1"; }

// One line per command, so a playbook reads as what the proxy does.
std::string describe(const Command& c) {
  return std::visit(Overloaded{
                        [](const command::ReadRequest&) { return std::string("read request"); },
                        [](const command::ReadHello&) { return std::string("read hello"); },
                        [](const command::Resolve& r) { return fmt::format("resolve {}:{}", r.host, r.port); },
                        [](const command::Connect& r) {
                          std::vector<std::string> a;
                          for (const auto& e : r.addresses) a.push_back(fmt::format("{}:{}", e.address, e.port));
                          return fmt::format("connect {}", fmt::join(a, ","));
                        },
                        [](const command::SendEstablished&) { return std::string("send 200 established"); },
                        [](const command::SendPage& p) { return fmt::format("send page {}: {}", p.status, p.why); },
                        [](const command::AnswerUnreadable&) { return std::string("answer unreadable hello"); },
                        [](const command::SendAlert& a) { return fmt::format("send alert {}", a.alert); },
                        [](const command::StartUpstreamTls& t) {
                          return fmt::format("upstream tls sni={} alpn={}", t.sni, fmt::join(t.alpn, ","));
                        },
                        [](const command::StartClientTls& t) {
                          return fmt::format("client tls {} alpn={}{}", t.requested, t.alpn,
                                             t.with_real_certificate ? "" : " (no real certificate)");
                        },
                        [](const command::Answer502& a) { return fmt::format("answer 502: {}", a.why); },
                        [](const command::Relay& r) {
                          return fmt::format("relay {}{}{}{}", kind_name(r.kind), r.tls ? " tls" : "",
                                             r.kind == command::RelayKind::Http
                                                 ? fmt::format(" {}<->{}", leg(r.client_leg), leg(r.upstream_leg))
                                                 : "",
                                             r.first_up.empty() ? "" : " first_up=" + r.first_up);
                        },
                        [](const command::Log& l) { return fmt::format("{} {}", l.error ? "error" : "log", l.text); },
                        [](const command::Close&) { return std::string("close"); },
                    },
                    c);
}

std::vector<std::string> run(Core& core, const Event& e) {
  std::vector<std::string> out;
  for (const auto& c : core.on(e)) out.push_back(describe(c));
  return out;
}

using Lines = std::vector<std::string>;

ClientHelloInfo hello(std::string sni, std::vector<std::string> alpn = {}) {
  ClientHelloInfo i;
  i.sni = std::move(sni);
  i.alpn = std::move(alpn);
  return i;
}

CoreConfig sni_config() {
  CoreConfig c;
  c.mode = Mode::Sni;
  c.upstream_port = 4433;
  c.listeners = {{"127.0.0.1", 8443}};
  return c;
}

TEST(CorePlaybook, SniModeInterceptsWithH2OnBothLegs) {
  Core core(sni_config());
  EXPECT_EQ(run(core, event::Start{}), Lines{"read hello"});
  EXPECT_EQ(run(core, event::HelloRead{hello("WWW.Bank32.com", {"h2", "http/1.1"})}),
            Lines{"resolve www.bank32.com:4433"});
  EXPECT_EQ(run(core, event::Resolved{{{"10.0.0.5", 4433}}, ""}), Lines{"connect 10.0.0.5:4433"});
  EXPECT_EQ(run(core, event::Connected{"10.0.0.5:4433"}), Lines{"upstream tls sni=www.bank32.com alpn=h2,http/1.1"});
  EXPECT_EQ(run(core, event::UpstreamTlsDone{"h2", "", false}), Lines{"client tls www.bank32.com alpn=h2"});
  EXPECT_EQ(run(core, event::ClientTlsDone{"h2"}), Lines{"relay http tls h2<->h2"});
  EXPECT_EQ(run(core, event::RelayEnded{}), Lines{"close"});
  EXPECT_TRUE(core.closed());
  EXPECT_EQ(run(core, event::RelayEnded{}), Lines{});
}

TEST(CorePlaybook, AlpnDecisionsGiveEachLegItsOwnVersion) {
  struct Case {
    std::vector<std::string> offer;
    std::string upstream, client, relay;
  };
  for (const auto& c : std::vector<Case>{
           {{"h2", "http/1.1"}, "http/1.1", "h2", "relay http tls h2<->h1"},
           {{"http/1.1"}, "h2", "http/1.1", "relay http tls h1<->h2"},
           {{"http/1.1"}, "http/1.1", "http/1.1", "relay observed tls"},
           {{}, "", "", "relay observed tls"},
           {{"x-custom"}, "x-custom", "x-custom", "relay opaque tls"},
       }) {
    Core core(sni_config());
    run(core, event::Start{});
    run(core, event::HelloRead{hello("www.bank32.com", c.offer)});
    run(core, event::Resolved{{{"10.0.0.5", 4433}}, ""});
    run(core, event::Connected{"10.0.0.5:4433"});
    EXPECT_EQ(run(core, event::UpstreamTlsDone{c.upstream, "", false}),
              Lines{"client tls www.bank32.com alpn=" + c.client})
        << fmt::format("{}", fmt::join(c.offer, ","));
    EXPECT_EQ(run(core, event::ClientTlsDone{c.client}), Lines{c.relay});
  }
}

TEST(CorePlaybook, Http2OffOffersOnlyHttp1OnBothLegs) {
  auto config = sni_config();
  config.http2 = Http2Mode::Off;
  Core core(config);
  run(core, event::Start{});
  run(core, event::HelloRead{hello("www.bank32.com", {"h2", "http/1.1"})});
  run(core, event::Resolved{{{"10.0.0.5", 4433}}, ""});
  EXPECT_EQ(run(core, event::Connected{"10.0.0.5:4433"}), Lines{"upstream tls sni=www.bank32.com alpn=http/1.1"});
  EXPECT_EQ(run(core, event::UpstreamTlsDone{"http/1.1", "", false}), Lines{"client tls www.bank32.com alpn=http/1.1"});
}

TEST(CorePlaybook, SniModeWithoutSniIsRefusedWithAnAlert) {
  Core core(sni_config());
  run(core, event::Start{});
  EXPECT_EQ(run(core, event::HelloRead{hello("")}),
            (Lines{"error the ClientHello names no server (no SNI): cannot tell where to go; closed", "send alert 40",
                   "close"}));
}

TEST(CorePlaybook, AnUnreadableHelloIsAnsweredByOpenSsl) {
  Core core(sni_config());
  run(core, event::Start{});
  EXPECT_EQ(run(core, event::HelloFailed{"an SSLv2-format ClientHello", true}),
            (Lines{"answer unreadable hello", "close"}));
  Core slow(sni_config());
  run(slow, event::Start{});
  EXPECT_EQ(run(slow, event::HelloFailed{"no complete ClientHello in time; closed", false}),
            (Lines{"error no complete ClientHello in time; closed", "close"}));
}

TEST(CorePlaybook, RefusedUpstreamIsAnAlertInSniMode) {
  Core core(sni_config());
  run(core, event::Start{});
  run(core, event::HelloRead{hello("www.bank32.com")});
  run(core, event::Resolved{{{"10.0.0.5", 4433}}, ""});
  EXPECT_EQ(run(core, event::ConnectFailed{"cannot connect to www.bank32.com:4433: Connection refused"}),
            (Lines{"error cannot connect to www.bank32.com:4433: Connection refused", "send alert 40", "close"}));
}

TEST(CorePlaybook, AFailedVerificationIsRefusedUnlessInsecure) {
  Core core(sni_config());
  run(core, event::Start{});
  run(core, event::HelloRead{hello("www.bank32.com")});
  run(core, event::Resolved{{{"10.0.0.5", 4433}}, ""});
  run(core, event::Connected{"10.0.0.5:4433"});
  auto out = run(core, event::UpstreamTlsDone{"", "depth 0 (CN=x): self-signed certificate", false});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NE(out[0].find("failed verification: depth 0 (CN=x): self-signed certificate"), std::string::npos);
  EXPECT_EQ(out[1], "send alert 40");

  auto config = sni_config();
  config.upstream_insecure = true;
  Core lax(config);
  run(lax, event::Start{});
  run(lax, event::HelloRead{hello("www.bank32.com")});
  run(lax, event::Resolved{{{"10.0.0.5", 4433}}, ""});
  run(lax, event::Connected{"10.0.0.5:4433"});
  EXPECT_EQ(run(lax, event::UpstreamTlsDone{"", "self-signed certificate", false}),
            Lines{"client tls www.bank32.com alpn="});
}

TEST(CorePlaybook, TheLoopIsRefused) {
  Core core(sni_config());
  run(core, event::Start{});
  run(core, event::HelloRead{hello("www.bank32.com")});
  auto config = sni_config();
  auto out = run(core, event::Resolved{{{"127.0.0.1", 8443}}, ""});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NE(out[0].find("resolves to 127.0.0.1:8443, which is this proxy itself"), std::string::npos) << out[0];
  EXPECT_EQ(out[1], "send alert 40");
  // A loop among other addresses is just left out.
  Core other(sni_config());
  run(other, event::Start{});
  run(other, event::HelloRead{hello("www.bank32.com")});
  EXPECT_EQ(run(other, event::Resolved{{{"127.0.0.1", 8443}, {"10.0.0.5", 8443}}, ""}), Lines{"connect 10.0.0.5:8443"});
}

TEST(CorePlaybook, ResolutionFailureIsRefused) {
  Core core(sni_config());
  run(core, event::Start{});
  run(core, event::HelloRead{hello("nowhere.test")});
  EXPECT_EQ(run(core, event::Resolved{{}, "cannot resolve nowhere.test: Host not found"}),
            (Lines{"error cannot resolve nowhere.test: Host not found", "send alert 40", "close"}));
}

TEST(CorePlaybook, PassedHostsAreRelayedUntouched) {
  auto config = sni_config();
  config.pass.emplace_back("*.bank32.com");
  Core core(config);
  run(core, event::Start{});
  run(core, event::HelloRead{hello("api.bank32.com")});
  run(core, event::Resolved{{{"10.0.0.5", 4433}}, ""});
  EXPECT_EQ(run(core, event::Connected{"10.0.0.5:4433"}), Lines{"relay raw"});
}

TEST(CorePlaybook, ReverseModeGoesToTheOneUpstreamWhateverTheSni) {
  CoreConfig config;
  config.mode = Mode::Reverse;
  config.upstream_host = "backend.internal";
  config.upstream_port = 9443;
  Core core(config);
  EXPECT_EQ(run(core, event::Start{}), Lines{"read hello"});
  EXPECT_EQ(run(core, event::HelloRead{hello("www.bank32.com")}), Lines{"resolve backend.internal:9443"});
  run(core, event::Resolved{{{"10.0.0.9", 9443}}, ""});
  EXPECT_EQ(run(core, event::Connected{"10.0.0.9:9443"}), Lines{"upstream tls sni=www.bank32.com alpn="});
  EXPECT_EQ(core.requested(), "www.bank32.com");
}

CoreConfig explicit_config() {
  CoreConfig c;
  c.mode = Mode::Explicit;
  c.listeners = {{"127.0.0.1", 8080}};
  return c;
}

TEST(CorePlaybook, ExplicitConnectIsAnsweredAtOnceThenIntercepted) {
  Core core(explicit_config());
  EXPECT_EQ(run(core, event::Start{}), Lines{"read request"});
  EXPECT_EQ(run(core, event::RequestRead{"CONNECT", "www.bank32.com:443", 11, {}, ""}),
            (Lines{"send 200 established", "read hello"}));
  EXPECT_EQ(run(core, event::HelloRead{hello("www.bank32.com", {"h2", "http/1.1"})}),
            Lines{"resolve www.bank32.com:443"});
  run(core, event::Resolved{{{"10.0.0.5", 443}}, ""});
  EXPECT_EQ(run(core, event::Connected{"10.0.0.5:443"}), Lines{"upstream tls sni=www.bank32.com alpn=h2,http/1.1"});
  EXPECT_TRUE(core.tunnel());
}

TEST(CorePlaybook, ARefusedUpstreamInATunnelGetsA502PageInsideTls) {
  Core core(explicit_config());
  run(core, event::Start{});
  run(core, event::RequestRead{"CONNECT", "www.bank32.com:443", 11, {}, ""});
  run(core, event::HelloRead{hello("www.bank32.com", {"h2", "http/1.1"})});
  run(core, event::Resolved{{{"10.0.0.5", 443}}, ""});
  EXPECT_EQ(run(core, event::ConnectFailed{"cannot connect: refused"}),
            (Lines{"error cannot connect: refused", "client tls www.bank32.com alpn=http/1.1 (no real certificate)"}));
  EXPECT_EQ(run(core, event::ClientTlsDone{"http/1.1"}), (Lines{"answer 502: cannot connect: refused", "close"}));
}

TEST(CorePlaybook, ExplicitConnectToAPassedHostIsATunnel) {
  auto config = explicit_config();
  config.pass.emplace_back("raw.bank32.com");
  Core core(config);
  run(core, event::Start{});
  EXPECT_EQ(run(core, event::RequestRead{"CONNECT", "raw.bank32.com:7000", 11, {}, ""}),
            Lines{"resolve raw.bank32.com:7000"});
  run(core, event::Resolved{{{"10.0.0.5", 7000}}, ""});
  EXPECT_EQ(run(core, event::Connected{"10.0.0.5:7000"}), (Lines{"send 200 established", "relay raw"}));
  // Unreachable: a 502 page in plain HTTP (no tunnel yet).
  Core down(config);
  run(down, event::Start{});
  run(down, event::RequestRead{"CONNECT", "raw.bank32.com:7000", 11, {}, ""});
  run(down, event::Resolved{{{"10.0.0.5", 7000}}, ""});
  EXPECT_EQ(run(down, event::ConnectFailed{"refused"}), (Lines{"error refused", "send page 502: refused", "close"}));
}

TEST(CorePlaybook, PlainHttpIsForwardedInOriginFormWithoutHopByHopFields) {
  Core core(explicit_config());
  run(core, event::Start{});
  event::RequestRead request{"GET",
                             "http://WWW.bank32.com:8000/a/b?x=1",
                             11,
                             {{"Host", "www.bank32.com:8000"},
                              {"Proxy-Connection", "keep-alive"},
                              {"Connection", "keep-alive, X-Hop"},
                              {"X-Hop", "1"},
                              {"Keep-Alive", "timeout=5"},
                              {"Accept", "*/*"}},
                             ""};
  EXPECT_EQ(run(core, request), Lines{"resolve www.bank32.com:8000"});
  run(core, event::Resolved{{{"10.0.0.5", 8000}}, ""});
  EXPECT_EQ(run(core, event::Connected{"10.0.0.5:8000"}),
            Lines{"relay observed first_up=GET /a/b?x=1 HTTP/1.1\r\nHost: www.bank32.com:8000\r\nAccept: */*\r\n"
                  "Connection: close\r\n\r\n"});
}

TEST(CorePlaybook, GarbageAndOddTargetsAreAnswered400AtOnce) {
  for (const auto& [request, why] : std::vector<std::pair<event::RequestRead, std::string>>{
           {{"", "", 11, {}, "bad method"}, "not an HTTP request (bad method)"},
           {{"GET", "/index.html", 11, {}, ""}, "this is a proxy: send absolute http:// URLs or CONNECT"},
           {{"GET", "https://www.bank32.com/", 11, {}, ""}, "use CONNECT for https:// URLs (curl -x does)"},
           {{"CONNECT", "www.bank32.com", 11, {}, ""}, "CONNECT www.bank32.com: give HOST:PORT"},
       }) {
    Core core(explicit_config());
    run(core, event::Start{});
    auto out = run(core, request);
    ASSERT_EQ(out.size(), 3u) << why;
    EXPECT_EQ(out[1], "send page 400: " + why);
    EXPECT_EQ(out[2], "close");
  }
}

TEST(CorePlaybook, AClientThatRefusesTheForgeryIsLoggedAndClosed) {
  Core core(sni_config());
  run(core, event::Start{});
  run(core, event::HelloRead{hello("www.bank32.com")});
  run(core, event::Resolved{{{"10.0.0.5", 4433}}, ""});
  run(core, event::Connected{"10.0.0.5:4433"});
  run(core, event::UpstreamTlsDone{"", "", false});
  EXPECT_EQ(run(core, event::ClientTlsFailed{"the real server changed its certificate"}),
            (Lines{"error the real server changed its certificate", "close"}));
  Core logged(sni_config());  // the executor logs a client's failure itself, by kind
  run(logged, event::Start{});
  run(logged, event::HelloRead{hello("www.bank32.com")});
  run(logged, event::Resolved{{{"10.0.0.5", 4433}}, ""});
  run(logged, event::Connected{"10.0.0.5:4433"});
  run(logged, event::UpstreamTlsDone{"", "", false});
  EXPECT_EQ(run(logged, event::ClientTlsFailed{}), Lines{"close"});
}

TEST(ParseAuthority, ReadsConnectTargets) {
  EXPECT_EQ(parse_authority("www.bank32.com:443"), std::make_pair(std::string("www.bank32.com"), std::uint16_t(443)));
  EXPECT_EQ(parse_authority("[::1]:8443"), std::make_pair(std::string("::1"), std::uint16_t(8443)));
  EXPECT_EQ(parse_authority("www.bank32.com"), std::nullopt);
  EXPECT_EQ(parse_authority("www.bank32.com:0"), std::nullopt);
  EXPECT_EQ(parse_authority("www.bank32.com:99999"), std::nullopt);
  EXPECT_EQ(parse_authority("user@host:1"), std::nullopt);
}

}  // namespace
}  // namespace tlslab::proxy
