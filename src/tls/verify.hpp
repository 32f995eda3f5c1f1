// tls verification verdicts: what was wrong with the server's certificate, in plain words.
//
// The handshake runs with a verify callback that records every problem OpenSSL finds and lets the
// handshake go on (VerifyRecorder), so the report can show the whole chain and every reason at
// once. The decision to stop is taken afterwards, before any application data is sent: verdict
// problems fail the command unless --insecure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "ossl/ptr.hpp"
#include "pki/cert_info.hpp"
#include "tls/revocation.hpp"

namespace tlslab::tls {

struct VerifyProblem {
  int depth = 0;                         // 0 = the server's own certificate
  std::string subject;                   // of the certificate at that depth
  int code = 0;                          // X509_V_ERR_*
  std::string code_name;                 // "certificate has expired" (OpenSSL's words)
  std::string reason;                    // ours: "expired on 2026-01-02 (30 days ago)"
  std::string fix;                       // what would fix it
  std::optional<Revocation> revocation;  // X509_V_ERR_CERT_REVOKED: the CRL's entry
};

struct HostnameVerdict {
  bool checked = false;  // false with --no-check-hostname
  bool ok = false;
  std::string name;  // the name checked
  bool is_ip = false;
  std::string matched;  // the SAN (or CN) that matched
  std::string reason;   // why not
  std::string fix;
};

struct VerifyVerdict {
  bool chain_ok = false;
  std::vector<VerifyProblem> problems;
  HostnameVerdict hostname;
  // ocsp is the stapled response's verdict with --cert-status. It is not part of ok(): as curl
  // does, a bad status fails the command (exit 91) even with --insecure.
  std::optional<OcspVerdict> ocsp;
  [[nodiscard]] bool ok() const { return chain_ok && (!hostname.checked || hostname.ok); }
};

// VerifyRecorder collects the verify callback's findings for one SSL. install() sets the callback
// on ssl (SSL_VERIFY_PEER) and keeps a pointer to this recorder in an ex_data slot of the SSL, so the
// recorder must outlive the handshake.
class VerifyRecorder {
 public:
  struct Raw {
    int depth;
    int code;
    ossl::Ptr<X509> cert;
    ossl::Ptr<X509_CRL> crl;  // the CRL being checked, for the CRL errors (revoked, expired...)
  };
  void install(SSL* ssl);
  [[nodiscard]] const std::vector<Raw>& findings() const { return findings_; }

 private:
  static int callback(int preverify_ok, X509_STORE_CTX* ctx);
  std::vector<Raw> findings_;
};

// explain_problem turns one finding into words. chain is the chain as the server sent it
// (depth 0 first), used to tell "intermediate missing" from "root not trusted". crl is the CRL
// the finding is about (revoked, CRL expired...), when there is one.
[[nodiscard]] VerifyProblem explain_problem(int depth, int code, X509* cert, const std::vector<pki::CertInfo>& sent,
                                            std::int64_t now, X509_CRL* crl = nullptr);

// check_hostname checks leaf for name (a DNS name or an IP literal) as browsers do: SANs only
// when present, a wildcard covering exactly one left-most label, IP literals only against IP SANs.
[[nodiscard]] HostnameVerdict check_hostname(X509* leaf, const std::string& name);

// certificate_covers tells whether leaf is valid for name by check_hostname's rules (without the
// explanations, so it is cheap enough for every connection).
[[nodiscard]] bool certificate_covers(X509* leaf, const std::string& name);

// make_verdict combines the recorded findings and the hostname check.
[[nodiscard]] VerifyVerdict make_verdict(const VerifyRecorder& recorder, const std::vector<pki::CertInfo>& sent,
                                         X509* leaf, const std::string& name, bool check_name, std::int64_t now);

}  // namespace tlslab::tls
