#include "tls/negotiated.hpp"

#include <fmt/format.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>

#include "pki/keys.hpp"

namespace tlslab::tls {
namespace {

std::string nid_short(int nid) {
  if (nid == NID_undef) return {};
  const char* sn = OBJ_nid2sn(nid);
  return sn ? sn : fmt::format("nid {}", nid);
}

std::string kx_name(int nid) {
  switch (nid) {
    case NID_kx_ecdhe:
      return "ECDHE";
    case NID_kx_dhe:
      return "DHE";
    case NID_kx_rsa:
      return "RSA";
    case NID_kx_psk:
      return "PSK";
    case NID_kx_ecdhe_psk:
      return "ECDHE-PSK";
    case NID_kx_dhe_psk:
      return "DHE-PSK";
    case NID_kx_rsa_psk:
      return "RSA-PSK";
    case NID_kx_any:
      return "any (TLS 1.3: (EC)DHE, group below)";
    default:
      return nid_short(nid);
  }
}

std::string auth_name(int nid) {
  switch (nid) {
    case NID_auth_rsa:
      return "RSA";
    case NID_auth_ecdsa:
      return "ECDSA";
    case NID_auth_psk:
      return "PSK";
    case NID_auth_dss:
      return "DSS";
    case NID_auth_null:
      return "none";
    case NID_auth_any:
      return "any (TLS 1.3: by the certificate's key)";
    default:
      return nid_short(nid);
  }
}

std::string cipher_name(int nid) {
  switch (nid) {
    case NID_aes_128_gcm:
      return "AES-128-GCM";
    case NID_aes_256_gcm:
      return "AES-256-GCM";
    case NID_chacha20_poly1305:
      return "ChaCha20-Poly1305";
    case NID_aes_128_cbc:
      return "AES-128-CBC";
    case NID_aes_256_cbc:
      return "AES-256-CBC";
    case NID_aes_128_ccm:
      return "AES-128-CCM";
    case NID_aes_256_ccm:
      return "AES-256-CCM";
    case NID_des_ede3_cbc:
      return "3DES-EDE-CBC";
    default:
      return nid_short(nid);
  }
}

std::string group_name(SSL* ssl) {
  if (int group = SSL_get_negotiated_group(ssl); group > 0) {
    const char* name = SSL_group_to_name(ssl, group);
    return name ? name : fmt::format("group {:#x}", group & 0xffff);
  }
  // TLS 1.2 finite-field DHE has no group id: the peer's ephemeral key names it.
  EVP_PKEY* tmp = nullptr;
  if (!SSL_get_peer_tmp_key(ssl, &tmp) || !tmp) return {};
  ossl::Ptr<EVP_PKEY> key(tmp);
  char name[80] = {};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key.get(), name, sizeof name, &len)) return name;
  return EVP_PKEY_get0_type_name(key.get());
}

// server_signature names the server's handshake signature: a server's own, a client's peer's.
std::string server_signature(SSL* ssl) {
  int type_nid = NID_undef, digest_nid = NID_undef;
  X509* cert = nullptr;
  if (SSL_is_server(ssl)) {
    SSL_get_signature_type_nid(ssl, &type_nid);
    SSL_get_signature_nid(ssl, &digest_nid);
    cert = SSL_get_certificate(ssl);
  } else {
    SSL_get_peer_signature_type_nid(ssl, &type_nid);
    SSL_get_peer_signature_nid(ssl, &digest_nid);
    cert = SSL_get0_peer_certificate(ssl);
  }
  EVP_PKEY* key = cert ? X509_get0_pubkey(cert) : nullptr;
  std::string scheme = signature_scheme_from_nids(type_nid, digest_nid, key ? pki::ec_curve(key) : std::string());
  // RSA-PSS signatures are rsa_pss_pss_* when the key itself is an RSA-PSS key (RFC 8446 §4.2.3).
  if (key && EVP_PKEY_is_a(key, "RSA-PSS") && scheme.rfind("rsa_pss_rsae_", 0) == 0)
    scheme.replace(0, 13, "rsa_pss_pss_");
  return scheme;
}

}  // namespace

std::string_view to_string(TlsVersion version) {
  switch (version) {
    case TlsVersion::None:
      return "";
    case TlsVersion::Ssl3:
      return "SSLv3";
    case TlsVersion::Tls1_0:
      return "TLSv1";
    case TlsVersion::Tls1_1:
      return "TLSv1.1";
    case TlsVersion::Tls1_2:
      return "TLSv1.2";
    case TlsVersion::Tls1_3:
      return "TLSv1.3";
  }
  return "unknown";
}

std::string_view selected_alpn(const SSL* ssl) {
  const unsigned char* alpn = nullptr;
  unsigned length = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &length);
  return alpn ? std::string_view(reinterpret_cast<const char*>(alpn), length) : std::string_view();
}

Negotiated negotiated(SSL* ssl) {
  Negotiated n;
  n.version = static_cast<TlsVersion>(SSL_version(ssl));
  n.cipher = describe_cipher(SSL_get_current_cipher(ssl));
  n.group = group_name(ssl);
  n.signature_scheme = server_signature(ssl);
  n.alpn = selected_alpn(ssl);
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) n.sni = sni;
  n.resumed = SSL_session_reused(ssl) == 1;
  return n;
}

CipherSuite describe_cipher(const SSL_CIPHER* c) {
  CipherSuite s;
  if (!c) return s;
  s.openssl = SSL_CIPHER_get_name(c);
  const char* iana = SSL_CIPHER_standard_name(c);
  s.iana = iana ? iana : s.openssl;
  s.id = static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(c));
  s.key_exchange = kx_name(SSL_CIPHER_get_kx_nid(c));
  s.authentication = auth_name(SSL_CIPHER_get_auth_nid(c));
  s.cipher = cipher_name(SSL_CIPHER_get_cipher_nid(c));
  s.aead = SSL_CIPHER_is_aead(c) == 1;
  if (const EVP_MD* md = SSL_CIPHER_get_handshake_digest(c)) s.hash = EVP_MD_get0_name(md);
  s.mac = s.aead ? "AEAD" : "HMAC-" + nid_short(SSL_CIPHER_get_digest_nid(c));
  s.bits = SSL_CIPHER_get_bits(c, nullptr);
  return s;
}

std::string signature_scheme_from_nids(int type_nid, int digest_nid, const std::string& curve) {
  std::string hash = digest_nid == NID_sha256   ? "sha256"
                     : digest_nid == NID_sha384 ? "sha384"
                     : digest_nid == NID_sha512 ? "sha512"
                     : digest_nid == NID_sha1   ? "sha1"
                                                : nid_short(digest_nid);
  switch (type_nid) {
    case EVP_PKEY_RSA_PSS:
      return "rsa_pss_rsae_" + hash;
    case EVP_PKEY_RSA:
      return "rsa_pkcs1_" + hash;
    case EVP_PKEY_EC:
      if (curve == "P-256" && hash == "sha256") return "ecdsa_secp256r1_sha256";
      if (curve == "P-384" && hash == "sha384") return "ecdsa_secp384r1_sha384";
      if (curve == "P-521" && hash == "sha512") return "ecdsa_secp521r1_sha512";
      return "ecdsa_" + hash;
    case EVP_PKEY_ED25519:
      return "ed25519";
    case EVP_PKEY_ED448:
      return "ed448";
    case NID_undef:
      return {};
    default:
      return nid_short(type_nid) + (hash.empty() ? "" : "_" + hash);
  }
}

}  // namespace tlslab::tls
