// Revocation, as curl checks it: CRLs from a file (--crlfile) for every certificate of the chain,
// and the server's stapled OCSP response (--cert-status). Facts and verdicts in words; no I/O
// except reading the CRL file.
#pragma once

#include <openssl/ocsp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ossl/ptr.hpp"

namespace tlslab::tls {

// parse_crls reads every CRL in data: PEM blocks (X509 CRL), or one DER CRL. source names the
// data in errors. Failure{CrlFile} when there is none or one does not parse.
[[nodiscard]] std::vector<ossl::Ptr<X509_CRL>> parse_crls(std::string_view data, std::string_view source);

// use_crls reads the CRLs in path into ctx's store and turns on checking for every certificate of
// the chain (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL, as curl's --crlfile does): each CA
// of the chain, the root included, then needs a current CRL in the file. Returns how many CRLs
// were loaded. Failure{CrlFile} for a file that cannot be read or holds no CRL.
int use_crls(SSL_CTX* ctx, const std::string& path);

// crl_reason_name returns RFC 5280's name for a CRLReason code (section 5.3.1): "keyCompromise";
// "" for -1 (no reason given).
[[nodiscard]] std::string crl_reason_name(int reason);

// is_crl_problem tells whether an X509_V_ERR_* code comes from checking CRLs (revoked, no CRL,
// CRL out of date, bad CRL signature...).
[[nodiscard]] bool is_crl_problem(int code);

struct Revocation {
  std::int64_t date = 0;  // revocationDate
  std::string reason;     // "keyCompromise"; "" when the CRL gives none
};

// find_revocation returns cert's entry in crl, if it is listed there.
[[nodiscard]] std::optional<Revocation> find_revocation(X509_CRL* crl, X509* cert);

// revoked_text says "revoked on 2026-01-02 10:00:00 UTC (3 days ago), reason keyCompromise" (or
// "no reason given").
[[nodiscard]] std::string revoked_text(const Revocation& r, std::int64_t now);

// OcspVerdict is what a stapled OCSP response says about the server's certificate, checked as
// curl's --cert-status checks it: a successful response, signed by the CA or a responder it
// authorised, about this certificate, current, and "good".
struct OcspVerdict {
  std::string status;  // "good", "revoked", "unknown" (the responder's answer), "missing", "invalid"
  bool ok = false;     // status == "good"
  std::string reason;  // why not ok, in words; "" when ok
  std::string fix;
  std::string responder;                 // the signer's subject, once the signature verified
  std::optional<std::int64_t> produced;  // producedAt
  std::optional<std::int64_t> this_update, next_update;
  std::optional<Revocation> revocation;  // with status "revoked"
};

// check_ocsp judges the stapled response der (empty: none was sent) about leaf. issuer is leaf's
// issuer (null when unknown); untrusted holds the certificates the server sent, to find a
// delegated responder's chain; store holds the trust anchors. now is for the validity window,
// with 5 minutes of leeway for clocks (as curl allows).
[[nodiscard]] OcspVerdict check_ocsp(std::string_view der, X509* leaf, X509* issuer, STACK_OF(X509) * untrusted,
                                     X509_STORE* store, std::int64_t now);

}  // namespace tlslab::tls
