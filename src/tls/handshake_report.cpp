#include "tls/handshake_report.hpp"

#include <fmt/format.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>

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

}  // namespace

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

HandshakeReport read_handshake(SSL* ssl) {
  HandshakeReport r;
  r.version = SSL_get_version(ssl);
  r.cipher = describe_cipher(SSL_get_current_cipher(ssl));
  if (int group = SSL_get_negotiated_group(ssl); group > 0) {
    const char* name = SSL_group_to_name(ssl, group);
    r.group = name ? name : fmt::format("group {:#x}", group & 0xffff);
  } else {
    EVP_PKEY* tmp = nullptr;
    if (SSL_get_peer_tmp_key(ssl, &tmp) && tmp) {
      char name[80] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(tmp, name, sizeof name, &len))
        r.group = name;
      else
        r.group = EVP_PKEY_get0_type_name(tmp);
      EVP_PKEY_free(tmp);
    }
  }
  // Each certificate is described once: the verified path mostly repeats the chain sent.
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(chain); ++i) r.peer_chain.push_back(pki::describe(sk_X509_value(chain, i)));
  }
  if (STACK_OF(X509)* verified = SSL_get0_verified_chain(ssl)) {
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; i < sk_X509_num(verified); ++i) {
      X509* cert = sk_X509_value(verified, i);
      bool sent = chain && i < sk_X509_num(chain) && X509_cmp(cert, sk_X509_value(chain, i)) == 0;
      r.verified_chain.push_back(sent ? r.peer_chain[static_cast<size_t>(i)] : pki::describe(cert));
    }
  }
  X509* leaf = SSL_get0_peer_certificate(ssl);
  int type_nid = NID_undef, digest_nid = NID_undef;
  SSL_get_peer_signature_type_nid(ssl, &type_nid);
  SSL_get_peer_signature_nid(ssl, &digest_nid);
  std::string curve;
  if (leaf) curve = r.peer_chain.empty() ? pki::describe(leaf).key_curve : r.peer_chain.front().key_curve;
  r.signature_scheme = signature_scheme_from_nids(type_nid, digest_nid, curve);
  // RSA-PSS signatures are rsa_pss_pss_* when the key itself is an RSA-PSS key (RFC 8446 §4.2.3).
  if (EVP_PKEY* key = leaf ? X509_get0_pubkey(leaf) : nullptr;
      key && EVP_PKEY_is_a(key, "RSA-PSS") && r.signature_scheme.rfind("rsa_pss_rsae_", 0) == 0)
    r.signature_scheme.replace(0, 13, "rsa_pss_pss_");
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn) r.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) r.sni_sent = sni;
  r.resumed = SSL_session_reused(ssl) == 1;
  const unsigned char* ocsp = nullptr;
  r.ocsp_stapled = SSL_get_tlsext_status_ocsp_resp(ssl, &ocsp) > 0;
  r.extended_master_secret = SSL_get_extms_support(ssl) == 1;
  r.secure_renegotiation = SSL_get_secure_renegotiation_support(ssl) == 1;
  if (X509* mine = SSL_get_certificate(ssl); mine && SSL_get_privatekey(ssl))
    r.client_certificate = pki::describe(mine).subject;
  return r;
}

}  // namespace tlslab::tls
