#include "tls/verify.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "base/address.hpp"
#include "base/text.hpp"

namespace tlslab::tls {
namespace {

std::string days_ago(std::int64_t then, std::int64_t now) {
  auto days = pki::days_between(then, now);
  if (days == 0) return "today";
  return fmt::format("{} day{} ago", days, days == 1 ? "" : "s");
}

// days_ahead says how far off then is, to the nearest day: a certificate made to start in 3 days
// is "3 days from now" whether a few seconds have passed since or not.
std::string days_ahead(std::int64_t then, std::int64_t now) {
  auto seconds = then - now;
  if (seconds < 86400) return "less than a day from now";
  auto days = (seconds + 43200) / 86400;
  return fmt::format("{} day{} from now", days, days == 1 ? "" : "s");
}

std::string crl_issuer(X509_CRL* crl) { return pki::name_line(X509_CRL_get_issuer(crl)); }

std::string crl_time(const ASN1_TIME* t, std::int64_t now) {
  if (!t) return "(not given)";
  auto then = pki::asn1_time_to_epoch(t);
  return fmt::format("{} ({})", pki::format_time(then), then <= now ? days_ago(then, now) : days_ahead(then, now));
}

std::string issuer_of(X509* cert) { return cert ? pki::describe(cert).issuer : std::string("(unknown)"); }

// matches is the hostname check itself, as browsers make it: SANs only (never the subject CN), a
// wildcard covering exactly one whole left-most label, IP literals only against IP SANs. The
// matching SAN goes to *matched when asked for.
bool matches(X509* leaf, const std::string& name, bool is_ip, std::string* matched) {
  if (is_ip) return X509_check_ip_asc(leaf, name.c_str(), 0) == 1;
  char* peer = nullptr;
  bool ok = X509_check_host(leaf, name.c_str(), name.size(),
                            X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                            matched ? &peer : nullptr) == 1;
  if (peer) {
    *matched = peer;
    OPENSSL_free(peer);
  }
  return ok;
}

// Our own ex_data slot: the app data slot belongs to whoever drives the SSL (Asio uses it).
int recorder_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
}  // namespace

void VerifyRecorder::install(SSL* ssl) {
  SSL_set_ex_data(ssl, recorder_index(), this);
  SSL_set_verify(ssl, SSL_VERIFY_PEER, &VerifyRecorder::callback);
}

int VerifyRecorder::callback(int preverify_ok, X509_STORE_CTX* ctx) {
  if (preverify_ok) return 1;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = static_cast<VerifyRecorder*>(SSL_get_ex_data(ssl, recorder_index()));
  int code = X509_STORE_CTX_get_error(ctx);
  int depth = X509_STORE_CTX_get_error_depth(ctx);
  auto same = [&](const Raw& r) { return r.depth == depth && r.code == code; };
  if (self && std::none_of(self->findings_.begin(), self->findings_.end(), same))
    self->findings_.push_back({depth, code, ossl::up_ref(X509_STORE_CTX_get_current_cert(ctx)),
                               ossl::up_ref(X509_STORE_CTX_get0_current_crl(ctx))});
  // Go on: the report shows every problem; the command decides afterwards, before sending data.
  return 1;
}

VerifyProblem explain_problem(int depth, int code, X509* cert, const std::vector<pki::CertInfo>& sent, std::int64_t now,
                              X509_CRL* crl) {
  VerifyProblem p;
  p.depth = depth;
  p.code = code;
  p.code_name = X509_verify_cert_error_string(code);
  pki::CertInfo info = cert ? pki::describe(cert) : pki::CertInfo{};
  p.subject = info.subject;
  bool is_leaf = depth == 0;
  auto sent_has_issuer = [&](const std::string& issuer) {
    return std::any_of(sent.begin(), sent.end(), [&](const pki::CertInfo& c) { return c.subject == issuer; });
  };
  switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      p.reason = fmt::format("expired on {} ({})", pki::format_time(info.not_after), days_ago(info.not_after, now));
      p.fix = is_leaf ? "the server must renew its certificate (or the client clock is wrong)"
                      : "the server must send a current intermediate certificate";
      break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      p.reason =
          fmt::format("not valid before {} ({})", pki::format_time(info.not_before), days_ahead(info.not_before, now));
      p.fix = "check the clocks of this machine and of the CA that issued it";
      break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      p.reason = "the certificate is self-signed and is not in the trust store";
      p.fix = "trust it explicitly (--cacert FILE with this certificate) or have a CA issue one";
      break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      p.reason = fmt::format("the root '{}' sent by the server is not a trusted anchor", info.subject);
      p.fix = "add that root to the trust store (--cacert FILE, --capath DIR) if you trust it";
      break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: {
      bool ca = info.is_ca;
      if (!ca && !sent_has_issuer(info.issuer)) {
        p.reason = fmt::format(
            "issuer '{}' is neither sent by the server nor a trusted anchor: the server is "
            "probably missing its intermediate certificate, or the CA is not trusted",
            info.issuer);
        p.fix =
            "configure the server to send the full chain (leaf + intermediates), or trust the issuing CA "
            "(--cacert FILE)";
      } else {
        p.reason = fmt::format("issuer '{}' is not trusted (not in the trust store)", info.issuer);
        p.fix = "trust that CA (--cacert FILE, --capath DIR), or use a server certificate from a trusted CA";
      }
      break;
    }
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      p.reason = fmt::format("the chain ends at '{}', which is not a trusted anchor", issuer_of(cert));
      p.fix = "trust the CA (--cacert FILE) or send the full chain";
      break;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      p.reason = "its signature does not verify with the issuer's key (forged or corrupted)";
      p.fix = "the server must use a certificate actually signed by its issuer";
      break;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
      p.reason = fmt::format("its {} key is too weak for the security level ({} bits)", info.key_type, info.key_bits);
      p.fix = "use RSA >= 2048 bits or an EC key";
      break;
    case X509_V_ERR_CA_MD_TOO_WEAK:
      p.reason = fmt::format("it is signed with a weak digest ({})", info.signature_algorithm);
      p.fix = "re-issue it with SHA-256 or better";
      break;
    case X509_V_ERR_INVALID_PURPOSE:
      p.reason = info.extended_key_usage.empty()
                     ? "its key usage does not allow TLS server authentication"
                     : fmt::format("its extended key usage ({}) does not include serverAuth",
                                   fmt::join(info.extended_key_usage, ", "));
      p.fix = "issue a certificate with extendedKeyUsage serverAuth";
      break;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_INVALID_NON_CA:
      p.reason = "it is used as a CA but is not marked as one (basicConstraints CA:TRUE)";
      p.fix = "sign server certificates with a real CA certificate";
      break;
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
      p.reason = "a name in it is outside what its CA's name constraints allow";
      p.fix = "issue it from a CA permitted to issue for that name";
      break;
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      p.reason = "the chain is longer than a CA's pathlen constraint allows";
      p.fix = "issue from a CA whose pathlen allows this depth";
      break;
    case X509_V_ERR_CERT_REVOKED:
      p.revocation = find_revocation(crl, cert);
      p.reason = p.revocation ? revoked_text(*p.revocation, now) : std::string("it has been revoked");
      if (crl) p.reason += fmt::format(" (CRL of '{}')", crl_issuer(crl));
      p.fix = "the server must get a new certificate";
      break;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      p.reason = fmt::format(
          "no CRL from its issuer '{}' among the CRLs given: every certificate of the chain, "
          "the root included, is checked against a CRL of its issuer",
          info.issuer);
      p.fix = fmt::format("add the current CRL of '{}' to the --crlfile file (openssl ca -gencrl)", info.issuer);
      break;
    case X509_V_ERR_CRL_HAS_EXPIRED:
      p.reason = fmt::format("the CRL of '{}' that covers it is out of date: its next update was due on {}",
                             crl ? crl_issuer(crl) : info.issuer,
                             crl_time(crl ? X509_CRL_get0_nextUpdate(crl) : nullptr, now));
      p.fix = "get a current CRL from the CA (or check this machine's clock)";
      break;
    case X509_V_ERR_CRL_NOT_YET_VALID:
      p.reason = fmt::format("the CRL of '{}' that covers it is not valid yet: it starts on {}",
                             crl ? crl_issuer(crl) : info.issuer,
                             crl_time(crl ? X509_CRL_get0_lastUpdate(crl) : nullptr, now));
      p.fix = "check the clocks of this machine and of the CA";
      break;
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
      p.reason = fmt::format("the signature of the CRL of '{}' does not verify with the CA's key",
                             crl ? crl_issuer(crl) : info.issuer);
      p.fix = "use the CRL the CA itself signed";
      break;
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
      p.reason = fmt::format("the CRL of '{}' cannot be used: its signer is not a CA allowed to sign CRLs ({})",
                             crl ? crl_issuer(crl) : info.issuer, p.code_name);
      p.fix = "the CA needs keyUsage cRLSign, and the CRL must be signed by it";
      break;
    default:
      p.reason = p.code_name;
      p.fix = "";
      break;
  }
  return p;
}

bool certificate_covers(X509* leaf, const std::string& name) {
  return matches(leaf, name, is_ip_literal(name), nullptr);
}

HostnameVerdict check_hostname(X509* leaf, const std::string& name) {
  HostnameVerdict v;
  v.checked = true;
  v.name = name;
  v.is_ip = is_ip_literal(name);
  v.ok = matches(leaf, name, v.is_ip, &v.matched);
  if (v.ok) {
    if (v.is_ip)
      v.matched = "IP:" + name;
    else
      v.matched = "DNS:" + v.matched;
    return v;
  }
  auto info = pki::describe(leaf);
  std::vector<std::string> dns, ips;
  for (const auto& san : info.sans) {
    if (san.type == pki::SanType::Dns) dns.push_back(san.value);
    if (san.type == pki::SanType::Ip) ips.push_back(san.value);
  }
  auto listed = [&](const std::vector<std::string>& names) {
    return names.empty() ? std::string("none") : fmt::format("[{}]", fmt::join(names, ", "));
  };
  if (v.is_ip) {
    v.reason = fmt::format("address {} is not among the certificate's IP SANs {}", name, listed(ips));
    if (std::find(dns.begin(), dns.end(), name) != dns.end())
      v.reason += fmt::format("; it is listed as a DNS name, which does not count for an address");
    v.fix = fmt::format(
        "connect by a name the certificate carries {} (with --resolve NAME:PORT:{}), or issue a "
        "certificate with IP:{}",
        listed(dns), name, name);
    return v;
  }
  v.reason = fmt::format("name {} is not among the certificate's DNS SANs {}", name, listed(dns));
  std::string lname = ascii_lower(name);
  for (const auto& d : dns) {
    if (d.rfind("*.", 0) != 0) continue;
    std::string suffix = ascii_lower(d.substr(1));  // ".bank32.com"
    if (lname == suffix.substr(1)) {
      v.reason += fmt::format("; the wildcard {} does not cover {} itself", d, name);
    } else if (lname.size() > suffix.size() &&
               lname.compare(lname.size() - suffix.size(), suffix.size(), suffix) == 0) {
      v.reason += fmt::format("; the wildcard {} covers exactly one label (x{}), not {}", d, suffix, name);
    }
  }
  if (dns.empty() && ascii_lower(info.common_name) == lname)
    v.reason += "; the name is only in the subject CN, which modern clients ignore (RFC 6125, browsers since 2017)";
  v.fix = dns.empty() ? fmt::format("issue a certificate with subjectAltName DNS:{}", name)
                      : fmt::format(
                            "use a name the certificate carries (e.g. --resolve {}:PORT:ADDR), or issue a "
                            "certificate that includes {}",
                            dns.front().rfind("*.", 0) == 0 ? "www" + dns.front().substr(1) : dns.front(), name);
  return v;
}

VerifyVerdict make_verdict(const VerifyRecorder& recorder, const std::vector<pki::CertInfo>& sent, X509* leaf,
                           const std::string& name, bool check_name, std::int64_t now) {
  VerifyVerdict verdict;
  auto has = [&](int depth, int code) {
    const auto& f = recorder.findings();
    return std::any_of(f.begin(), f.end(), [&](const auto& r) { return r.depth == depth && r.code == code; });
  };
  for (const auto& raw : recorder.findings()) {
    if (raw.code == X509_V_ERR_HOSTNAME_MISMATCH || raw.code == X509_V_ERR_IP_ADDRESS_MISMATCH) continue;
    // OpenSSL follows a missing issuer with "unable to verify the first certificate": one problem.
    if (raw.code == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE &&
        (has(raw.depth, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) ||
         has(raw.depth, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT)))
      continue;
    verdict.problems.push_back(explain_problem(raw.depth, raw.code, raw.cert.get(), sent, now, raw.crl.get()));
  }
  verdict.chain_ok = verdict.problems.empty() && leaf != nullptr;
  if (!leaf) {
    verdict.problems.push_back({0, "", 0, "no certificate", "the server sent no certificate", ""});
  }
  if (check_name && leaf && !name.empty()) verdict.hostname = check_hostname(leaf, name);
  return verdict;
}

}  // namespace tlslab::tls
