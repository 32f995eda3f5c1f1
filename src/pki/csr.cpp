#include "pki/csr.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/err.h>

#include "ossl/error.hpp"
#include "ossl/pem.hpp"
#include "pki/keys.hpp"

namespace tlslab::pki {
namespace {

std::string ia5_text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string address_text(const ASN1_OCTET_STRING* ip, std::string_view source) {
  char text[INET6_ADDRSTRLEN] = {};
  int len = ASN1_STRING_length(ip);
  if ((len != 4 && len != 16) ||
      !inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text, sizeof text))
    throw Failure(Kind::Input, fmt::format("{}: the subjectAltName holds a {}-byte IP address", source, len));
  return text;
}

}  // namespace

ossl::Ptr<X509_REQ> read_csr(std::string_view data, std::string_view source) {
  auto req = ossl::parse_request(data, source, Kind::Input);
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (!key) ossl::fail(Kind::Input, fmt::format("{}: the request's public key cannot be read", source));
  int ok = X509_REQ_verify(req.get(), key);
  if (ok != 1) {
    auto why = ossl::drain_errors();
    throw Failure(Kind::Input, fmt::format("{}: the request's signature does not verify with its own key: it was "
                                           "altered, or not made by the holder of the key{}{}",
                                           source, why.empty() ? "" : " (", why.empty() ? "" : why + ")"));
  }
  return req;
}

std::vector<std::string> csr_alt_names(X509_REQ* req, std::string_view source) {
  std::vector<std::string> out;
  ossl::Ptr<STACK_OF(X509_EXTENSION)> exts(X509_REQ_get_extensions(req));
  if (!exts) {
    ERR_clear_error();
    return out;
  }
  ossl::Ptr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    switch (gn->type) {
      case GEN_DNS:
        out.push_back(ia5_text(gn->d.dNSName));
        break;
      case GEN_EMAIL:
        out.push_back(ia5_text(gn->d.rfc822Name));
        break;
      case GEN_IPADD:
        out.push_back(address_text(gn->d.iPAddress, source));
        break;
      default:
        throw Failure(Kind::Input, fmt::format("{}: subjectAltName entry {} is of a type tlslab does not issue (only "
                                               "DNS names, IP addresses and emails); give the names instead of "
                                               "--copy-sans",
                                               source, i + 1));
    }
  }
  return out;
}

std::string csr_common_name(X509_REQ* req) {
  const X509_NAME* subject = X509_REQ_get_subject_name(req);
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx < 0) return {};
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

SignedCsr sign_csr(const Ca& ca, X509_REQ* req, std::string_view source, const SignOptions& options) {
  if (options.copy_sans && !options.names.empty())
    throw Failure(Kind::Usage, "give either names or --copy-sans, not both");
  SignedCsr out;
  if (!options.names.empty()) {
    out.names = parse_names(options.names, Kind::Usage);
    out.names_from = "the command line";
  } else if (options.copy_sans) {
    auto requested = csr_alt_names(req, source);
    if (requested.empty())
      throw Failure(Kind::Usage,
                    fmt::format("{} asks for no subjectAltName to copy; give the names to certify", source));
    out.names = parse_names(requested, Kind::Input);
    out.names_from = "the CSR's subjectAltName";
  } else {
    auto cn = csr_common_name(req);
    if (cn.empty())
      throw Failure(Kind::Usage,
                    fmt::format("{} has no common name; give the names to certify, or --copy-sans", source));
    out.names = parse_names({cn}, Kind::Input);
    out.names_from = "the CSR's common name";
  }
  if (!options.force) ca.require_permitted(out.names);
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  out.issued = ca.issue({.names = out.names,
                         .client = options.client,
                         .days = options.days,
                         .public_key = key,
                         .subject = X509_REQ_get_subject_name(req)});
  int bits = EVP_PKEY_get_security_bits(key);
  if (bits > 0 && bits < 112)
    out.issued.warnings.push_back(
        fmt::format("the request's key ({}) is below OpenSSL's default security level 2; "
                    "Debian's servers and clients will refuse it",
                    key_description(key)));
  return out;
}

}  // namespace tlslab::pki
