#include "pki/cert_info.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "ossl/pem.hpp"
#include "pki/keys.hpp"

namespace tlslab::pki {
namespace {

std::string hex_colons(const unsigned char* data, size_t len) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(len * 3);
  for (size_t i = 0; i < len; ++i) {
    if (i) out += ':';
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xF];
  }
  return out;
}

std::string common_name(const X509_NAME* name) {
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  const unsigned char* d = ASN1_STRING_get0_data(ip);
  int len = ASN1_STRING_length(ip);
  if (len == 4) return fmt::format("{}.{}.{}.{}", d[0], d[1], d[2], d[3]);
  if (len == 16) {
    char buf[64];
    ossl::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
    // Compress like inet_ntop.
    unsigned short words[8];
    for (int i = 0; i < 8; ++i) words[i] = static_cast<unsigned short>(d[2 * i] << 8 | d[2 * i + 1]);
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
      if (words[i] != 0) {
        ++i;
        continue;
      }
      int j = i;
      while (j < 8 && words[j] == 0) ++j;
      if (j - i > best_len && j - i > 1) best = i, best_len = j - i;
      i = j;
    }
    std::string out;
    for (int i = 0; i < 8; ++i) {
      if (i == best) {
        out += "::";
        i += best_len - 1;
        continue;
      }
      if (!out.empty() && out.back() != ':') out += ':';
      std::snprintf(buf, sizeof buf, "%x", words[i]);
      out += buf;
    }
    return out;
  }
  return fmt::format("(invalid {}-byte address)", len);
}

std::string asn1_text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::vector<SubjectAltName> read_sans(X509* cert) {
  std::vector<SubjectAltName> out;
  ossl::Ptr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    switch (gn->type) {
      case GEN_DNS:
        out.push_back({SanType::Dns, asn1_text(gn->d.dNSName)});
        break;
      case GEN_IPADD:
        out.push_back({SanType::Ip, ip_text(gn->d.iPAddress)});
        break;
      case GEN_EMAIL:
        out.push_back({SanType::Email, asn1_text(gn->d.rfc822Name)});
        break;
      case GEN_URI:
        out.push_back({SanType::Uri, asn1_text(gn->d.uniformResourceIdentifier)});
        break;
      case GEN_DIRNAME:
        out.push_back({SanType::DirName, name_line(gn->d.directoryName)});
        break;
      default:
        out.push_back({SanType::Other, fmt::format("(type {})", gn->type)});
        break;
    }
  }
  return out;
}

void read_key(X509* cert, CertInfo& info) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (!key) {
    info.key_type = "unknown";
    return;
  }
  info.key_bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      info.key_type = "RSA";
      break;
    case EVP_PKEY_RSA_PSS:
      info.key_type = "RSA-PSS";
      break;
    case EVP_PKEY_EC:
      info.key_type = "EC";
      break;
    case EVP_PKEY_ED25519:
      info.key_type = "Ed25519";
      break;
    case EVP_PKEY_ED448:
      info.key_type = "Ed448";
      break;
    case EVP_PKEY_DSA:
      info.key_type = "DSA";
      break;
    default:
      info.key_type = EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown";
      break;
  }
  if (info.key_type == "EC") info.key_curve = ec_curve(key);
}

std::vector<std::string> key_usage(X509* cert) {
  static const std::pair<uint32_t, const char*> bits[] = {{KU_DIGITAL_SIGNATURE, "digitalSignature"},
                                                          {KU_NON_REPUDIATION, "nonRepudiation"},
                                                          {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
                                                          {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
                                                          {KU_KEY_AGREEMENT, "keyAgreement"},
                                                          {KU_KEY_CERT_SIGN, "keyCertSign"},
                                                          {KU_CRL_SIGN, "cRLSign"},
                                                          {KU_ENCIPHER_ONLY, "encipherOnly"},
                                                          {KU_DECIPHER_ONLY, "decipherOnly"}};
  std::vector<std::string> out;
  if (!(X509_get_extension_flags(cert) & EXFLAG_KUSAGE)) return out;
  uint32_t ku = X509_get_key_usage(cert);
  for (auto [bit, name] : bits)
    if (ku & bit) out.emplace_back(name);
  return out;
}

std::vector<std::string> extended_key_usage(X509* cert) {
  std::vector<std::string> out;
  ossl::Ptr<EXTENDED_KEY_USAGE> eku(
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr)));
  if (!eku) return out;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    const ASN1_OBJECT* obj = sk_ASN1_OBJECT_value(eku.get(), i);
    int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef) {
      out.emplace_back(OBJ_nid2sn(nid));
    } else {
      char buf[128];
      OBJ_obj2txt(buf, sizeof buf, obj, 1);
      out.emplace_back(buf);
    }
  }
  return out;
}

void name_constraints(X509* cert, CertInfo& info) {
  ossl::Ptr<NAME_CONSTRAINTS> nc(
      static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_name_constraints, nullptr, nullptr)));
  if (!nc) return;
  auto collect = [](STACK_OF(GENERAL_SUBTREE) * trees, std::vector<std::string> & out) {
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(trees); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_SUBTREE_value(trees, i)->base;
      if (gn->type == GEN_DNS) out.push_back(asn1_text(gn->d.dNSName));
    }
  };
  collect(nc->permittedSubtrees, info.permitted_dns);
  collect(nc->excludedSubtrees, info.excluded_dns);
}

std::string fingerprint(X509* cert, const EVP_MD* md) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!X509_digest(cert, md, buf, &len)) return {};
  return hex_colons(buf, len);
}

}  // namespace

std::string_view to_string(SanType type) {
  switch (type) {
    case SanType::Dns:
      return "dns";
    case SanType::Ip:
      return "ip";
    case SanType::Email:
      return "email";
    case SanType::Uri:
      return "uri";
    case SanType::DirName:
      return "dirname";
    case SanType::Other:
      return "other";
  }
  return "other";
}

std::string name_line(const X509_NAME* name) {
  ossl::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  // RFC 2253 order reversed (most significant first, as people read "C=..., O=..., CN=..."),
  // UTF-8 kept as is, ", " separators.
  X509_NAME_print_ex(bio.get(), name, 0, (XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) | XN_FLAG_SEP_CPLUS_SPC);
  auto s = ossl::bio_text(bio.get());
  // XN_FLAG_ONELINE puts spaces around '='; people and openssl's -nameopt compat do not.
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 3, " = ") == 0) {
      out += '=';
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::int64_t asn1_time_to_epoch(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || !ASN1_TIME_to_tm(t, &tm)) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::int64_t now_epoch() { return static_cast<std::int64_t>(std::time(nullptr)); }

long days_between(std::int64_t from, std::int64_t to) {
  auto diff = to - from;
  return static_cast<long>(diff >= 0 ? diff / 86400 : -((-diff + 86399) / 86400));
}

std::string format_time(std::int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC", tm);
}

CertInfo describe(X509* cert) {
  CertInfo info;
  info.version = static_cast<int>(X509_get_version(cert)) + 1;
  info.subject = name_line(X509_get_subject_name(cert));
  info.issuer = name_line(X509_get_issuer_name(cert));
  info.common_name = common_name(X509_get_subject_name(cert));
  if (const ASN1_INTEGER* serial = X509_get0_serialNumber(cert)) {
    ossl::Ptr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
    std::vector<unsigned char> bytes(static_cast<size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), bytes.data());
    info.serial_hex = bytes.empty() ? "00" : hex_colons(bytes.data(), bytes.size());
  }
  info.not_before = asn1_time_to_epoch(X509_get0_notBefore(cert));
  info.not_after = asn1_time_to_epoch(X509_get0_notAfter(cert));
  info.sans = read_sans(cert);
  read_key(cert, info);
  info.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(cert));
  info.sha256_fingerprint = fingerprint(cert, EVP_sha256());
  info.sha1_fingerprint = fingerprint(cert, EVP_sha1());
  uint32_t flags = X509_get_extension_flags(cert);
  info.self_issued = (flags & EXFLAG_SI) != 0;
  info.self_signed = (flags & EXFLAG_SS) != 0;
  if (flags & EXFLAG_BCONS) {
    info.has_basic_constraints = true;
    info.is_ca = (flags & EXFLAG_CA) != 0;
    long pathlen = X509_get_pathlen(cert);
    if (info.is_ca && pathlen >= 0) info.path_len = pathlen;
    int idx = X509_get_ext_by_NID(cert, NID_basic_constraints, -1);
    info.basic_constraints_critical = idx >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, idx));
  }
  info.key_usage = key_usage(cert);
  info.extended_key_usage = extended_key_usage(cert);
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert))
    info.subject_key_id = hex_colons(ASN1_STRING_get0_data(ski), static_cast<size_t>(ASN1_STRING_length(ski)));
  if (const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert))
    info.authority_key_id = hex_colons(ASN1_STRING_get0_data(aki), static_cast<size_t>(ASN1_STRING_length(aki)));
  name_constraints(cert, info);
  return info;
}

std::vector<CertInfo> describe_certificates(std::string_view data, std::string_view source, Kind kind) {
  std::vector<CertInfo> out;
  for (const auto& cert : ossl::parse_certificates(data, source, kind)) out.push_back(describe(cert.get()));
  return out;
}

}  // namespace tlslab::pki
