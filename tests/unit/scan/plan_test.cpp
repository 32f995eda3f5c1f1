// The scan's probe plan against a real OpenSSL server in memory (no sockets): hand-built hellos
// answered through server_flight, full handshakes through TlsPair with the scanner's own client
// settings, one server context for the whole scan so that sessions resume as on a real server.
#include "scan/plan.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <functional>
#include <map>
#include <stdexcept>

#include "scan/http_probe.hpp"
#include "scan/suites.hpp"
#include "support/cert_factory.hpp"
#include "support/server_flight.hpp"
#include "support/tls_pair.hpp"
#include "tls/client_context.hpp"

namespace tlslab::scan {
namespace {

using Kind = ServerAnswer::Kind;

constexpr std::uint16_t kX25519 = 0x001d, kSecp256r1 = 0x0017, kSecp384r1 = 0x0018, kFfdhe2048 = 0x0100;

// MemoryServer answers a plan's probes as an OpenSSL server configured by configure (after a
// certificate for www.bank32.com of key kind key, security level 0, TLS 1.0 and up).
class MemoryServer {
 public:
  explicit MemoryServer(const std::function<void(SSL_CTX*)>& configure = {}, const std::string& key = "ec-p256")
      : ctx_(SSL_CTX_new(TLS_server_method())) {
    auto cert = testing::issue({.common_name = "www.bank32.com", .dns = {"www.bank32.com"}, .key = key});
    testing::server_with(cert).ctx(ctx_.get());
    SSL_CTX_set_security_level(ctx_.get(), 0);
    SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_VERSION);
    SSL_CTX_set_tlsext_servername_callback(ctx_.get(), record_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx_.get(), &servernames);
    if (configure) configure(ctx_.get());
  }

  // answer makes one probe, as net::run_scan does over a connection.
  Answer answer(Probe probe) {
    if (auto* hello = std::get_if<HelloProbe>(&probe)) return this->hello(*hello);
    return full(std::get<FullSpec>(probe));
  }

  std::map<Kind, int> hello_answers;     // hand-built hellos, by the kind of answer
  int handshakes = 0;                    // full handshakes
  std::vector<std::string> servernames;  // the SNI received, from every hello that sent one
  std::string http_response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

 private:
  static int record_servername(SSL* ssl, int*, void* arg) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name) static_cast<std::vector<std::string>*>(arg)->push_back(name);
    return SSL_TLSEXT_ERR_OK;
  }

  ServerAnswer hello(const HelloProbe& probe) {
    auto flight = testing::server_flight(ctx_.get(), probe.hello);
    auto a = parse_server_answer(flight, probe.through_key_exchange);
    if (a.kind == Kind::Incomplete && probe.through_key_exchange) a = parse_server_answer(flight);
    ++hello_answers[a.kind];
    return a;
  }

  FullResult full(const FullSpec& spec) {
    ++handshakes;
    FullResult out;
    testing::TlsPair pair({.ctx =
                               [](SSL_CTX* c) {
                                 SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
                                 prepare_client_context(c);
                               },
                           .ssl = [&](SSL* s) { out.error = prepare_handshake(s, spec); }},
                          ctx_.get());
    if (!out.error.empty()) return out;
    if (!pair.handshake()) {
      out.error = pair.error();
      return out;
    }
    SSL* client = pair.client();
    out.ok = true;
    out.reused = SSL_session_reused(client) == 1;
    out.report = tls::read_handshake(client);
    if (spec.http_get) {
      auto request = probe_request("www.bank32.com");
      std::string got(4096, '\0');
      SSL_write(client, request.data(), static_cast<int>(request.size()));
      SSL_read(pair.server(), got.data(), static_cast<int>(got.size()));
      SSL_write(pair.server(), http_response.data(), static_cast<int>(http_response.size()));
      int n = SSL_read(client, got.data(), static_cast<int>(got.size()));
      out.response = got.substr(0, n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    out.session.reset(SSL_get1_session(client));
    pair.shutdown();
    return out;
  }

  ossl::Ptr<SSL_CTX> ctx_;
};

// run_stage runs a stage's tasks at once, in turns (one probe each per round), to their end.
void run_stage(std::vector<Task>& stage, MemoryServer& server) {
  for (bool moved = true; moved;) {
    moved = false;
    for (auto& task : stage)
      if (auto probe = task.next()) {
        task.take(server.answer(std::move(*probe)));
        moved = true;
      }
  }
}

// scan runs the whole plan against server, group by group, and returns the report.
ScanReport scan(MemoryServer& server, const std::string& servername = "www.bank32.com") {
  ScanReport r;
  Plan plan(r, servername);
  for (auto& group : plan.groups())
    for (auto& stage : group.stages) run_stage(stage, server);
  plan.finish();
  return r;
}

const VersionSupport& version(const ScanReport& r, std::uint16_t v) {
  const VersionSupport* vs = r.version(v);
  if (!vs) throw std::runtime_error("no such version in the report");
  return *vs;
}

void tls12_only(SSL_CTX* c) {
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
}
void tls13_only(SSL_CTX* c) { SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION); }

TEST(Narrowing, ChoicesInTheOrderMadeUntilTheServerRefuses) {
  Narrowing<int> n({1, 2, 3, 4});
  n.choose(3);
  EXPECT_EQ(n.offered(), (std::vector<int>{1, 2, 4}));
  n.choose(1);
  EXPECT_FALSE(n.done());
  n.choose(std::nullopt);
  EXPECT_TRUE(n.done());
  EXPECT_EQ(n.chosen(), (std::vector<int>{3, 1}));
}

TEST(Narrowing, AChoiceThatWasNotOfferedEndsIt) {
  Narrowing<std::string> n({"h2", "http/1.1"});
  n.choose("h2");
  n.choose("");  // no ALPN at all
  EXPECT_TRUE(n.done());
  EXPECT_EQ(n.chosen(), std::vector<std::string>{"h2"});
}

TEST(Narrowing, EndsWhenEverythingWasChosen) {
  Narrowing<int> n({7, 8});
  n.choose(8);
  n.choose(7);
  EXPECT_TRUE(n.done());
  EXPECT_TRUE(n.offered().empty());
  EXPECT_EQ(n.chosen(), (std::vector<int>{8, 7}));
}

TEST(Plan, GroupsLongestFirstWithTheFallbackAfterEveryVersion) {
  ScanReport r;
  Plan plan(r, "www.bank32.com");
  std::vector<std::string> names;
  for (const auto& g : plan.groups()) names.push_back(g.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"versions", "groups13", "groups12", "sigalgs12", "sigalgs13", "main handshake",
                                      "alpn", "session-ID resumption", "ticket resumption", "sslv2", "compression"}));
  const auto& versions = plan.groups().front().stages;
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].size(), 5u);  // TLS 1.2, 1.3, 1.1, 1.0, SSLv3 at once
  EXPECT_EQ(versions[1].size(), 1u);  // then the fallback
  for (const auto& g : plan.groups()) {
    if (g.name == "versions") continue;
    EXPECT_EQ(g.stages.size(), 1u) << g.name;
  }
}

TEST(Plan, FallbackBeforeTheVersionsAreKnownHasNothingToProbe) {
  ScanReport r;
  Plan plan(r, "www.bank32.com");
  EXPECT_FALSE(plan.groups().front().stages[1].front().next());
}

TEST(Plan, Tls12ServerWithThreeSuitesInItsOwnOrder) {
  MemoryServer server([](SSL_CTX* c) {
    tls12_only(c);
    SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA");
    SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
  });
  auto r = scan(server);
  const auto& v12 = version(r, kTls12);
  EXPECT_TRUE(v12.supported);
  EXPECT_EQ(v12.suites, (std::vector<std::uint16_t>{0xcca9, 0xc02c, 0xc009}));
  EXPECT_EQ(v12.server_preference, true);
  EXPECT_EQ(v12.name, "TLS 1.2");
  for (auto v : {std::uint16_t{0x0002}, kSsl3, kTls10, kTls11, kTls13}) {
    EXPECT_FALSE(version(r, v).supported) << v;
    EXPECT_TRUE(version(r, v).suites.empty()) << v;
  }
  EXPECT_EQ(r.versions.size(), 6u);
  EXPECT_FALSE(r.fallback_scsv.has_value());  // one version: nothing to fall back to
  EXPECT_EQ(r.secure_renegotiation, true);
  EXPECT_EQ(r.extended_master_secret, true);
  EXPECT_EQ(r.compression, false);
}

TEST(Plan, EnumerationCostsOneProbePerSuiteAndOneMore) {
  MemoryServer server([](SSL_CTX* c) {
    tls12_only(c);
    SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384");
  });
  ScanReport r;
  Plan plan(r, "www.bank32.com");
  run_stage(plan.groups().front().stages[0], server);
  // TLS 1.2: two choices, one refusal, the reversed order; TLS 1.3, 1.1, 1.0, SSLv3: one refusal each.
  EXPECT_EQ(server.hello_answers[Kind::ServerHello], 3);
  EXPECT_EQ(server.hello_answers[Kind::Alert], 5);
  EXPECT_EQ(server.handshakes, 0);
}

TEST(Plan, ServerThatFollowsTheClientHasNoOrder) {
  MemoryServer server([](SSL_CTX* c) {
    tls12_only(c);
    SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-GCM-SHA384");
  });
  auto r = scan(server);
  const auto& v12 = version(r, kTls12);
  // Found in the order of the candidates (the client's), which the server followed.
  auto at = [](std::uint16_t id) {
    const auto& c = legacy_candidates();
    return std::find(c.begin(), c.end(), id) - c.begin();
  };
  ASSERT_EQ(v12.suites.size(), 2u);
  EXPECT_LT(at(v12.suites[0]), at(v12.suites[1]));
  EXPECT_EQ(v12.server_preference, false);
}

TEST(Plan, Tls13GroupsAreFoundThroughHelloRetryRequests) {
  MemoryServer server([](SSL_CTX* c) {
    tls13_only(c);
    SSL_CTX_set1_groups_list(c, "ffdhe2048:secp384r1:x25519");
  });
  auto r = scan(server);
  std::vector<std::uint16_t> expected;  // in the order of the candidates
  for (auto g : group_candidates())
    if (g == kX25519 || g == kSecp384r1 || g == kFfdhe2048) expected.push_back(g);
  EXPECT_EQ(r.groups, expected);
  EXPECT_EQ(server.hello_answers[Kind::HelloRetryRequest], 3);  // one per group: no key share offered
  EXPECT_TRUE(version(r, kTls13).supported);
  EXPECT_FALSE(version(r, kTls12).supported);
  EXPECT_FALSE(r.secure_renegotiation.has_value());  // no ServerHello below TLS 1.3
  EXPECT_EQ(r.compression, false);                   // TLS 1.3 has none
}

TEST(Plan, Tls12CurvesAreReadFromTheServerKeyExchange) {
  // An RSA certificate: with an ECDSA one, TLS 1.2 needs its curve among those offered.
  MemoryServer server(
      [](SSL_CTX* c) {
        tls12_only(c);
        SSL_CTX_set1_groups_list(c, "P-384:P-256");
      },
      "rsa-2048");
  auto r = scan(server);
  EXPECT_EQ(r.groups, (std::vector<std::uint16_t>{kSecp256r1, kSecp384r1}));
}

TEST(Plan, FallbackScsvIsHonouredBelowTheHighestVersion) {
  MemoryServer server;
  auto r = scan(server);
  EXPECT_TRUE(version(r, kTls13).supported);
  EXPECT_TRUE(version(r, kTls12).supported);
  EXPECT_EQ(r.fallback_scsv, true);
  EXPECT_FALSE(version(r, 0x0002).supported);
  EXPECT_FALSE(version(r, kSsl3).supported);
}

TEST(Plan, FallbackAcceptedIsNotHonoured) {
  MemoryServer server;
  ScanReport r;
  Plan plan(r, "www.bank32.com");
  auto& versions = plan.groups().front().stages;
  run_stage(versions[0], server);
  auto& fallback = versions[1].front();
  auto probe = fallback.next();
  ASSERT_TRUE(probe && std::holds_alternative<HelloProbe>(*probe));
  // The real server refuses it (inappropriate_fallback); one that goes on does not honour it.
  auto refused = std::get<ServerAnswer>(server.answer(*probe));
  EXPECT_EQ(refused.kind, Kind::Alert);
  EXPECT_EQ(refused.alert, 86);
  ServerAnswer accepted;
  accepted.kind = Kind::ServerHello;
  accepted.version = kTls12;
  fallback.take(accepted);
  EXPECT_FALSE(fallback.next());
  plan.finish();
  EXPECT_EQ(r.fallback_scsv, false);
}

TEST(Plan, Tls13SchemeIsTheOneBoundToTheCertificatesCurve) {
  MemoryServer server(tls13_only);
  auto r = scan(server);
  EXPECT_EQ(r.sigalgs, std::vector<std::uint16_t>{0x0403});  // ecdsa_secp256r1_sha256
}

TEST(Plan, Tls12SchemesAreReadFromTheServerKeyExchange) {
  MemoryServer server([](SSL_CTX* c) {
    tls12_only(c);
    SSL_CTX_set1_sigalgs_list(c, "ECDSA+SHA384:ECDSA+SHA256");
  });
  auto r = scan(server);
  EXPECT_EQ(r.sigalgs, (std::vector<std::uint16_t>{0x0403, 0x0503}));  // in candidate order
}

TEST(Plan, AlpnInTheServersOrder) {
  MemoryServer server([](SSL_CTX* c) {
    SSL_CTX_set_alpn_select_cb(
        c,
        [](SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen, void*) {
          static const std::string mine = tls::alpn_wire({"http/1.1", "h2"});
          auto* ours = reinterpret_cast<const unsigned char*>(mine.data());
          return SSL_select_next_proto(const_cast<unsigned char**>(out), outlen, ours,
                                       static_cast<unsigned>(mine.size()), in, inlen) == OPENSSL_NPN_NEGOTIATED
                     ? SSL_TLSEXT_ERR_OK
                     : SSL_TLSEXT_ERR_NOACK;
        },
        nullptr);
  });
  auto r = scan(server);
  EXPECT_EQ(r.alpn, (std::vector<std::string>{"http/1.1", "h2"}));
}

TEST(Plan, ResumptionBySessionIdTicketAndInTls13) {
  MemoryServer server;
  auto r = scan(server);
  EXPECT_EQ(r.session_id_resumption, true);
  EXPECT_EQ(r.ticket_resumption, true);
  EXPECT_EQ(r.tls13_resumption, true);
}

TEST(Plan, NoResumptionFromAServerThatKeepsNothing) {
  MemoryServer server([](SSL_CTX* c) {
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  });
  auto r = scan(server);
  EXPECT_EQ(r.session_id_resumption, false);
  EXPECT_EQ(r.ticket_resumption, false);
  EXPECT_EQ(r.tls13_resumption, false);
}

TEST(Plan, Tls13OnlyResumesByTicket) {
  MemoryServer server(tls13_only);
  auto r = scan(server);
  EXPECT_EQ(r.tls13_resumption, true);
  EXPECT_EQ(r.ticket_resumption, true);  // TLS 1.3 resumes by tickets only
  EXPECT_FALSE(r.session_id_resumption.has_value());
}

TEST(Plan, MainHandshakeReadsTheChainAndTheHttpHead) {
  MemoryServer server;
  server.http_response = "HTTP/1.1 301 Moved\r\nStrict-Transport-Security: max-age=31536000\r\n\r\n";
  auto r = scan(server);
  EXPECT_TRUE(r.handshake_done) << r.handshake_error;
  ASSERT_EQ(r.chain.size(), 1u);
  EXPECT_EQ(r.http_status, 301);
  EXPECT_EQ(r.hsts_max_age, 31536000);
  EXPECT_EQ(r.ocsp_stapling, false);
  EXPECT_EQ(r.max_early_data, 0u);
  // Every full handshake sent the name.
  ASSERT_FALSE(server.servernames.empty());
  for (const auto& name : server.servernames) EXPECT_EQ(name, "www.bank32.com");
}

TEST(Plan, NoServernameIsSentWhenThereIsNone) {
  MemoryServer server(tls13_only);
  auto r = scan(server, "");
  EXPECT_TRUE(r.handshake_done) << r.handshake_error;
  EXPECT_TRUE(server.servernames.empty());
}

TEST(Plan, ServerThatRefusesEveryHelloLeavesNothingFound) {
  MemoryServer server([](SSL_CTX* c) {
    SSL_CTX_set_client_hello_cb(
        c,
        [](SSL*, int* alert, void*) {
          *alert = SSL_AD_HANDSHAKE_FAILURE;
          return SSL_CLIENT_HELLO_ERROR;
        },
        nullptr);
  });
  auto r = scan(server);
  EXPECT_FALSE(r.handshake_done);
  EXPECT_FALSE(r.handshake_error.empty());
  for (const auto& v : r.versions) EXPECT_FALSE(v.supported) << v.name;
  EXPECT_TRUE(r.groups.empty());
  EXPECT_TRUE(r.sigalgs.empty());
  EXPECT_TRUE(r.alpn.empty());
  EXPECT_EQ(r.session_id_resumption, std::nullopt);
  EXPECT_EQ(r.fallback_scsv, std::nullopt);
  EXPECT_EQ(r.compression, std::nullopt);
}

TEST(Task, AnAnswerOfTheWrongKindIsThrownFromNext) {
  ScanReport r;
  Plan plan(r, "www.bank32.com");
  auto& compression = plan.groups().back().stages.front().front();
  auto probe = compression.next();
  ASSERT_TRUE(probe && std::holds_alternative<HelloProbe>(*probe));
  compression.take(FullResult{});
  EXPECT_THROW((void)compression.next(), std::bad_variant_access);
  EXPECT_FALSE(compression.next());  // the task has ended
}

}  // namespace
}  // namespace tlslab::scan
