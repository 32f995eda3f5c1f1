#include "scan/plan.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <utility>

#include "scan/http_probe.hpp"
#include "scan/suites.hpp"
#include "tls/client_context.hpp"
#include "tls/trace.hpp"

namespace tlslab::scan {
namespace {

// The curves a TLS 1.2 ECDHE ServerKeyExchange can name: x25519, secp256r1, secp384r1, secp521r1, x448.
const std::vector<std::uint16_t> kTls12Curves = {0x001d, 0x0017, 0x0018, 0x0019, 0x001e};

constexpr std::uint16_t kSsl2 = 0x0002;

}  // namespace

std::string prepare_handshake(SSL* s, const FullSpec& spec) {
  if (spec.min_version) SSL_set_min_proto_version(s, spec.min_version);
  if (spec.max_version) SSL_set_max_proto_version(s, spec.max_version);
  if (spec.no_ticket) SSL_set_options(s, SSL_OP_NO_TICKET);
  if (!spec.servername.empty()) SSL_set_tlsext_host_name(s, spec.servername.c_str());
  SSL_set_tlsext_status_type(s, TLSEXT_STATUSTYPE_ocsp);
  if (spec.resume) SSL_set_session(s, spec.resume);
  if (!spec.alpn.empty()) {
    auto wire = tls::alpn_wire(spec.alpn);
    SSL_set_alpn_protos(s, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size()));
  }
  if (!spec.sigalgs.empty() && SSL_set1_sigalgs_list(s, spec.sigalgs.c_str()) != 1) {
    ERR_clear_error();
    return "signature algorithms not available in this OpenSSL: " + spec.sigalgs;
  }
  return "";
}

void prepare_client_context(SSL_CTX* ctx) {
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
}

Task::~Task() {
  if (h_) h_.destroy();
}

std::optional<Probe> Task::next() {
  auto& promise = h_.promise();
  promise.probe.reset();
  if (!h_.done()) h_.resume();
  promise.answer.reset();
  if (promise.error) std::rethrow_exception(std::exchange(promise.error, nullptr));
  return std::exchange(promise.probe, std::nullopt);
}

void Task::take(Answer answer) { h_.promise().answer = std::move(answer); }

Plan::Plan(ScanReport& report, std::string servername, KeyShare share)
    : r_(report), sni_(std::move(servername)), share_(std::move(share)) {
  auto group = [this](std::string name, auto... tasks) {
    Group g{std::move(name), {}};
    g.stages.emplace_back();
    (g.stages.back().push_back(std::move(tasks)), ...);
    groups_.push_back(std::move(g));
  };
  group("versions", enumerate(kTls12), enumerate(kTls13), enumerate(kTls11), enumerate(kTls10), enumerate(kSsl3));
  groups_.back().stages.emplace_back().push_back(fallback());  // TLS_FALLBACK_SCSV needs every version known
  group("groups13", groups13());
  // groups12: ECDHE suites and the curves; sigalgs12: signed suites and the schemes.
  group("groups12",
        key_exchange12(ecdhe_candidates(), kTls12Curves, &HelloSpec::groups, &ServerAnswer::group, groups_found_));
  group("sigalgs12", key_exchange12(signed_candidates(), default_sigalgs(), &HelloSpec::sigalgs,
                                    &ServerAnswer::signature_scheme, sigalgs_));
  group("sigalgs13", sigalgs13());
  group("main handshake", main_handshake());
  group("alpn", alpn());
  group("session-ID resumption", legacy_resumption(false));
  group("ticket resumption", legacy_resumption(true));
  group("sslv2", sslv2());
  group("compression", compression());
}

HelloSpec Plan::base_spec(std::uint16_t version) const {
  HelloSpec s;
  s.version = version;
  s.servername = sni_;
  s.groups = default_groups();
  s.sigalgs = default_sigalgs();
  if (version == kSsl3) s.groups.clear();
  return s;
}

HelloSpec Plan::spec13() const {
  auto s = base_spec(kTls13);
  s.suites = tls13_candidates();
  s.key_shares = {share_};
  return s;
}

FullSpec Plan::full_spec() const {
  FullSpec spec;
  spec.servername = sni_;
  return spec;
}

// enumerate finds the suites a version accepts: offer all, note the choice, take it out, again.
// Then, with two or more, the same offered in reverse: a server that follows its own order
// ignores it.
Task Plan::enumerate(std::uint16_t version) {
  VersionSupport& vs = support_[version];
  vs.version = version;
  auto spec = version == kTls13 ? spec13() : base_spec(version);
  Narrowing<std::uint16_t> suites(version == kTls13 ? tls13_candidates() : legacy_candidates());
  while (!suites.done()) {
    spec.suites = suites.offered();
    HelloProbe probe{build_client_hello(spec)};
    ServerAnswer a = co_yield std::move(probe);
    bool chosen = a.accepted() && a.version == version;
    if (chosen) first_answer_.try_emplace(version, a);
    suites.choose(chosen ? std::optional(a.suite) : std::nullopt);
  }
  vs.suites = suites.chosen();
  vs.supported = !vs.suites.empty();
  if (vs.suites.size() >= 2) {
    spec.suites.assign(vs.suites.rbegin(), vs.suites.rend());
    HelloProbe probe{build_client_hello(spec)};
    ServerAnswer a = co_yield std::move(probe);
    if (a.accepted()) vs.server_preference = a.suite == vs.suites.front();
  }
}

// fallback sends a hello below the highest version with TLS_FALLBACK_SCSV (RFC 7507): a server
// that honours it refuses with inappropriate_fallback.
Task Plan::fallback() {
  std::vector<std::uint16_t> tls;
  for (auto v : {kTls10, kTls11, kTls12, kTls13})
    if (support_[v].supported) tls.push_back(v);
  if (tls.size() < 2) co_return;
  auto lower = tls[tls.size() - 2];
  auto spec = base_spec(lower);
  spec.suites = support_[lower].suites;
  spec.suites.push_back(kFallbackScsv);
  HelloProbe probe{build_client_hello(spec)};
  ServerAnswer a = co_yield std::move(probe);
  if (a.kind == ServerAnswer::Kind::Alert)
    r_.fallback_scsv = a.alert == 86;
  else if (a.accepted())
    r_.fallback_scsv = false;
}

Task Plan::sslv2() {
  HelloProbe probe{build_sslv2_hello()};
  ServerAnswer a = co_yield std::move(probe);
  auto& vs = support_[kSsl2];
  vs.version = kSsl2;
  vs.supported = a.kind == ServerAnswer::Kind::Sslv2ServerHello;
}

// groups13 offers the groups with no key share: the server asks for the one it wants in a
// HelloRetryRequest. Take it out and ask again, until none is left that it accepts.
Task Plan::groups13() {
  auto spec = spec13();
  spec.key_shares.clear();
  Narrowing<std::uint16_t> groups(group_candidates());
  while (!groups.done()) {
    spec.groups = groups.offered();
    HelloProbe probe{build_client_hello(spec)};
    ServerAnswer a = co_yield std::move(probe);
    groups.choose(a.accepted() && a.version == kTls13 ? std::optional(a.group) : std::nullopt);
  }
  groups_found_.insert(groups.chosen().begin(), groups.chosen().end());
}

// key_exchange12 offers TLS 1.2 suites whose ServerKeyExchange is signed, and narrows candidates
// in one list of the hello (offer: the curves, the signature schemes); the ServerKeyExchange names
// the one chosen (read: its curve, its scheme), which goes into found.
Task Plan::key_exchange12(std::vector<std::uint16_t> suites, std::vector<std::uint16_t> candidates,
                          std::vector<std::uint16_t> HelloSpec::*offer, std::uint16_t ServerAnswer::*read,
                          std::set<std::uint16_t>& found) {
  auto spec = base_spec(kTls12);
  spec.suites = std::move(suites);
  Narrowing<std::uint16_t> choices(std::move(candidates));
  while (!choices.done()) {
    spec.*offer = choices.offered();
    HelloProbe probe{build_client_hello(spec), true};
    ServerAnswer a = co_yield std::move(probe);
    bool chosen = a.kind == ServerAnswer::Kind::ServerHello && a.version == kTls12;
    choices.choose(chosen ? std::optional(a.*read) : std::nullopt);
  }
  found.insert(choices.chosen().begin(), choices.chosen().end());
}

// sigalgs13: TLS 1.3 encrypts the CertificateVerify, so each round is a full handshake that
// offers the schemes left; the one the server signed with comes out.
Task Plan::sigalgs13() {
  std::vector<std::uint16_t> candidates;
  for (auto id : default_sigalgs())
    if (tls13_signature_scheme(id)) candidates.push_back(id);
  Narrowing<std::uint16_t> schemes(candidates);
  while (!schemes.done()) {
    auto spec = full_spec();
    spec.min_version = spec.max_version = TLS1_3_VERSION;
    for (auto id : schemes.offered())
      spec.sigalgs += (spec.sigalgs.empty() ? "" : ":") + tls::signature_scheme_name(id);
    FullResult res = co_yield std::move(spec);
    std::optional<std::uint16_t> used;
    for (auto id : schemes.offered())
      if (res.ok && !used && tls::signature_scheme_name(id) == res.report.signature_scheme) used = id;
    schemes.choose(used);
  }
  sigalgs_.insert(schemes.chosen().begin(), schemes.chosen().end());
}

Task Plan::compression() {
  auto spec = base_spec(kTls12);
  spec.suites = legacy_candidates();
  spec.compression = {1, 0};  // DEFLATE, then null
  HelloProbe probe{build_client_hello(spec)};
  ServerAnswer a = co_yield std::move(probe);
  if (a.kind == ServerAnswer::Kind::ServerHello && a.version <= kTls12) r_.compression = a.compression != 0;
}

// main_handshake: the chain, its verification, OCSP, HSTS; then the session again (TLS 1.3).
Task Plan::main_handshake() {
  auto spec = full_spec();
  spec.alpn = {"http/1.1"};
  spec.http_get = true;
  FullResult res = co_yield std::move(spec);
  r_.handshake_done = res.ok;
  r_.handshake_error = res.error;
  if (!res.ok) co_return;
  r_.chain = res.report.peer_chain;
  r_.verdict = res.verdict;
  r_.ocsp_stapling = res.report.ocsp_stapled;
  auto head = read_http_head(res.response);
  r_.http_status = head.status;
  r_.hsts = head.hsts;
  r_.hsts_max_age = head.hsts_max_age;
  if (res.report.version != tls::TlsVersion::Tls1_3 || !res.session) co_return;
  r_.max_early_data = SSL_SESSION_get_max_early_data(res.session.get());
  auto again = full_spec();
  again.resume = res.session.get();
  FullResult second = co_yield std::move(again);
  r_.tls13_resumption = second.ok && second.reused;
}

// alpn offers the candidates, notes the server's choice, takes it out, again.
Task Plan::alpn() {
  Narrowing<std::string> protocols({"h2", "http/1.1", "http/1.0"});
  while (!protocols.done()) {
    auto spec = full_spec();
    spec.alpn = protocols.offered();
    FullResult res = co_yield std::move(spec);
    protocols.choose(res.ok ? std::optional(res.report.alpn) : std::nullopt);
  }
  r_.alpn = protocols.chosen();
}

// legacy_resumption: below TLS 1.3 (the highest version the server has there), a session by
// its ID with tickets off, or by its ticket; kept until finish() knows whether TLS <= 1.2 is
// offered at all.
Task Plan::legacy_resumption(bool tickets) {
  auto spec = full_spec();
  spec.max_version = TLS1_2_VERSION;
  spec.no_ticket = !tickets;
  auto once = spec;
  FullResult first = co_yield std::move(once);
  bool resumed = false;
  if (first.ok && first.session && (!tickets || SSL_SESSION_has_ticket(first.session.get()))) {
    spec.resume = first.session.get();
    FullResult second = co_yield std::move(spec);
    resumed = second.ok && second.reused;
  }
  (tickets ? legacy_ticket_ : legacy_session_id_) = resumed;
}

void Plan::finish() {
  for (auto v : {kSsl2, kSsl3, kTls10, kTls11, kTls12, kTls13}) {
    auto vs = support_[v];
    vs.version = v;
    vs.name = v == kSsl2 ? "SSLv2" : v == kSsl3 ? "SSLv3" : tls::version_name(v);
    r_.versions.push_back(vs);
  }
  for (auto g : group_candidates())
    if (groups_found_.count(g)) r_.groups.push_back(g);
  for (auto s : default_sigalgs())
    if (sigalgs_.count(s)) r_.sigalgs.push_back(s);
  // Facts the ServerHello of the highest version up to TLS 1.2 shows (TLS 1.3 has them built in).
  for (auto v : {kTls12, kTls11, kTls10, kSsl3}) {
    auto it = first_answer_.find(v);
    if (it == first_answer_.end()) continue;
    r_.secure_renegotiation = it->second.has_extension(0xff01);
    r_.extended_master_secret = it->second.has_extension(0x0017);
    break;
  }
  if (!r_.compression && support_[kTls13].supported) r_.compression = false;
  bool legacy = support_[kTls10].supported || support_[kTls11].supported || support_[kTls12].supported;
  if (legacy) {
    r_.session_id_resumption = legacy_session_id_;
    r_.ticket_resumption = legacy_ticket_;
  } else if (r_.tls13_resumption.value_or(false)) {
    r_.ticket_resumption = true;  // TLS 1.3 resumes by tickets only
  }
}

}  // namespace tlslab::scan
