#include "tls/revocation.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <array>
#include <climits>

#include "base/failure.hpp"
#include "base/files.hpp"
#include "ossl/error.hpp"
#include "pki/cert_info.hpp"

namespace tlslab::tls {
namespace {

std::string when(std::int64_t then, std::int64_t now) {
  auto days = pki::days_between(then, now);
  if (then > now) days = pki::days_between(now, then);
  std::string span =
      days == 0 ? "today" : fmt::format("{} day{} {}", days, days == 1 ? "" : "s", then > now ? "from now" : "ago");
  return fmt::format("{} ({})", pki::format_time(then), span);
}

std::optional<std::int64_t> epoch_of(const ASN1_GENERALIZEDTIME* t) {
  if (!t) return std::nullopt;
  return pki::asn1_time_to_epoch(t);
}

std::string subject_of(X509* cert) { return cert ? pki::describe(cert).subject : std::string("(unknown)"); }

OcspVerdict invalid(std::string reason, std::string fix) {
  OcspVerdict v;
  v.status = "invalid";
  v.reason = std::move(reason);
  v.fix = std::move(fix);
  return v;
}

}  // namespace

std::vector<ossl::Ptr<X509_CRL>> parse_crls(std::string_view data, std::string_view source) {
  std::vector<ossl::Ptr<X509_CRL>> out;
  if (data.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw Failure(Kind::CrlFile, fmt::format("{}: the file is empty", source));
  if (data.size() > INT_MAX) throw Failure(Kind::CrlFile, fmt::format("{}: too large", source));
  if (data.find("-----BEGIN ") != std::string_view::npos) {
    ossl::Ptr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    for (;;) {
      ossl::Ptr<X509_CRL> crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
      if (!crl) break;
      out.push_back(std::move(crl));
    }
    auto error = ERR_peek_last_error();
    // The end of the data ends the loop with "no start line"; anything else is a broken block.
    if (ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE) ERR_clear_error();
    if (ERR_peek_error() != 0)
      throw Failure(Kind::CrlFile,
                    fmt::format("{}: CRL #{} cannot be parsed: {}", source, out.size() + 1, ossl::drain_errors()));
    if (out.empty())
      throw Failure(Kind::CrlFile, fmt::format("{}: no CRL in it (expected PEM blocks "
                                               "'-----BEGIN X509 CRL-----', as openssl ca -gencrl writes)",
                                               source));
    return out;
  }
  auto* p = reinterpret_cast<const unsigned char*>(data.data());
  ossl::Ptr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size())));
  if (!crl) {
    ERR_clear_error();
    throw Failure(Kind::CrlFile, fmt::format("{}: not a CRL (neither PEM '-----BEGIN X509 CRL-----' nor DER)", source));
  }
  out.push_back(std::move(crl));
  return out;
}

int use_crls(SSL_CTX* ctx, const std::string& path) {
  auto crls = parse_crls(read_file(path, "CRL file", Kind::CrlFile), "CRL file " + path);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& crl : crls)
    if (X509_STORE_add_crl(store, crl.get()) != 1)
      throw Failure(Kind::CrlFile, fmt::format("CRL file {}: {}", path, ossl::drain_errors()));
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  return static_cast<int>(crls.size());
}

bool is_crl_problem(int code) {
  switch (code) {
    case X509_V_ERR_CERT_REVOKED:
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
      return true;
    default:
      return false;
  }
}

std::string crl_reason_name(int reason) {
  // RFC 5280 section 5.3.1; 7 is not used.
  static constexpr std::array<const char*, 11> names = {
      "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
      "superseded",    "cessationOfOperation", "certificateHold", "(unused value 7)",
      "removeFromCRL", "privilegeWithdrawn",   "aACompromise"};
  if (reason < 0) return "";
  if (reason < static_cast<int>(names.size())) return names[static_cast<std::size_t>(reason)];
  return fmt::format("unknown reason {}", reason);
}

std::optional<Revocation> find_revocation(X509_CRL* crl, X509* cert) {
  if (!crl || !cert) return std::nullopt;
  X509_REVOKED* entry = nullptr;
  if (X509_CRL_get0_by_cert(crl, &entry, cert) != 1 || !entry) return std::nullopt;
  Revocation r;
  r.date = pki::asn1_time_to_epoch(X509_REVOKED_get0_revocationDate(entry));
  int critical = 0;
  ossl::Ptr<ASN1_STRING> reason(
      static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &critical, nullptr)));
  if (reason) r.reason = crl_reason_name(static_cast<int>(ASN1_ENUMERATED_get(reason.get())));
  return r;
}

std::string revoked_text(const Revocation& r, std::int64_t now) {
  return fmt::format("revoked on {}, {}", when(r.date, now),
                     r.reason.empty() ? std::string("no reason given") : "reason " + r.reason);
}

OcspVerdict check_ocsp(std::string_view der, X509* leaf, X509* issuer, STACK_OF(X509) * untrusted, X509_STORE* store,
                       std::int64_t now) {
  const std::string staple_fix =
      "the server must staple a current response from its CA's OCSP responder (nginx: ssl_stapling on; "
      "openssl s_server: -status_file FILE), or leave out --cert-status";
  if (der.empty()) {
    OcspVerdict v;
    v.status = "missing";
    v.reason = "the server sent no OCSP response (it does not staple one)";
    v.fix = staple_fix;
    return v;
  }
  auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::Ptr<OCSP_RESPONSE> response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!response) {
    ERR_clear_error();
    return invalid(fmt::format("the stapled OCSP response ({} bytes) cannot be parsed", der.size()), staple_fix);
  }
  int status = OCSP_response_status(response.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return invalid(fmt::format("the stapled OCSP response carries no answer: the responder said '{}' (status {})",
                               OCSP_response_status_str(status), status),
                   staple_fix);
  ossl::Ptr<OCSP_BASICRESP> basic(OCSP_response_get1_basic(response.get()));
  if (!basic) {
    ERR_clear_error();
    return invalid("the stapled OCSP response is not a basic OCSP response", staple_fix);
  }
  if (!leaf) return invalid("the server sent no certificate to check", "");
  if (!issuer)
    return invalid(
        fmt::format("the issuer of '{}' is unknown, so the response cannot be matched to it", subject_of(leaf)),
        "the server must send its intermediate certificates");
  if (OCSP_basic_verify(basic.get(), untrusted, store, 0) <= 0) {
    auto why = ossl::drain_errors();
    return invalid(fmt::format("the stapled OCSP response's signature does not verify ({})", why),
                   fmt::format("the response must be signed by '{}' or by a responder certificate it issued "
                               "with extendedKeyUsage OCSPSigning",
                               subject_of(issuer)));
  }
  OcspVerdict v;
  X509* signer = nullptr;
  if (OCSP_resp_get0_signer(basic.get(), &signer, untrusted) == 1 && signer)
    v.responder = subject_of(signer);
  else
    ERR_clear_error();
  v.produced = epoch_of(OCSP_resp_get0_produced_at(basic.get()));
  ossl::Ptr<OCSP_CERTID> id(OCSP_cert_to_id(nullptr, leaf, issuer));
  int cert_status = 0, reason = -1;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &cert_status, &reason, &revoked_at, &this_update,
                                   &next_update) != 1) {
    ERR_clear_error();
    auto info = pki::describe(leaf);
    v = invalid(fmt::format("the stapled OCSP response says nothing about the server's certificate (serial {})",
                            info.serial_hex),
                staple_fix);
    return v;
  }
  v.this_update = epoch_of(this_update);
  v.next_update = epoch_of(next_update);
  // Five minutes of leeway either way for clocks, as curl allows (OCSP_check_validity's maxsec).
  constexpr std::int64_t leeway = 300;
  auto stale = [&](std::string reason_text) {
    auto out = v;
    out.status = "invalid";
    out.reason = std::move(reason_text);
    out.fix = "the server must fetch a fresh response from the responder (or this machine's clock is wrong)";
    return out;
  };
  if (v.this_update && *v.this_update > now + leeway)
    return stale(fmt::format("the stapled OCSP response is not valid yet: it starts on {}", when(*v.this_update, now)));
  if (v.next_update && *v.next_update < now - leeway)
    return stale(fmt::format("the stapled OCSP response is out of date: its next update was due on {}",
                             when(*v.next_update, now)));
  switch (cert_status) {
    case V_OCSP_CERTSTATUS_GOOD:
      v.status = "good";
      v.ok = true;
      break;
    case V_OCSP_CERTSTATUS_REVOKED:
      v.status = "revoked";
      v.revocation = Revocation{epoch_of(revoked_at).value_or(0), crl_reason_name(reason)};
      v.reason = fmt::format("the server's certificate was {} (OCSP response signed by '{}')",
                             revoked_text(*v.revocation, now), v.responder);
      v.fix = "the server must get a new certificate";
      break;
    default:
      v.status = "unknown";
      v.reason =
          fmt::format("the OCSP responder '{}' does not know the server's certificate (status unknown)", v.responder);
      v.fix = "the certificate may not come from this CA, or the responder's database is behind";
      break;
  }
  return v;
}

}  // namespace tlslab::tls
