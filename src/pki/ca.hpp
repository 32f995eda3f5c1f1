// pki::Ca — a certificate authority held in a folder, and the in-memory issuing path.
//
// A CA folder holds:
//   ca.pem       the CA certificate
//   ca-key.pem   its private key, mode 0600
//   chain.pem    for an intermediate CA only: its issuers, parent first, root last
//   root.pem     for an intermediate CA only: the root alone, the file to trust
//
// Ca::create() makes a CA in memory and save() writes it (all files or none, never over an
// existing CA); Ca::load() reads one back and checks it is usable, with errors naming the file.
// Ca::issue() mints a leaf entirely in memory — no file I/O — so the proxy's forge cache can call it
// thousands of times; writing the result is a separate step (leaf_files.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ossl/ptr.hpp"
#include "pki/keys.hpp"
#include "pki/names.hpp"

namespace tlslab::pki {

// A root lives 10 years (as mkcert's): roots a user adds by hand have no lifetime limit in any
// browser, and re-trusting a new root everywhere is the chore a long life spares.
inline constexpr int kDefaultCaDays = 3650;
// Leaves live 397 days: publicly trusted TLS certificates are capped at 398 days by the CA/Browser
// Forum baseline requirements (and enforced by Safari, Chrome and Firefox since 2020); 397 stays
// inside however a client rounds. Privately rooted certificates are exempt in Chrome and Firefox,
// but Apple platforms reject any TLS server certificate valid for more than 825 days.
inline constexpr int kDefaultLeafDays = 397;
inline constexpr int kAppleMaxLeafDays = 825;
// notBefore is set this far in the past, so a client whose clock runs a little slow still accepts
// a certificate made a moment ago.
inline constexpr std::int64_t kBackdateSeconds = 3600;

inline constexpr const char* kCaCertFile = "ca.pem";
inline constexpr const char* kCaKeyFile = "ca-key.pem";
inline constexpr const char* kCaChainFile = "chain.pem";
inline constexpr const char* kCaRootFile = "root.pem";

class Ca;

struct CaOptions {
  std::string name;                     // the CA's common name; "" means default_ca_name()
  KeyKind key = KeyKind::EcP256;        //
  int days = kDefaultCaDays;            //
  std::vector<std::string> permit_dns;  // nameConstraints permitted DNS subtrees (normalized)
  const Ca* parent = nullptr;           // set: an intermediate signed by parent (pathLen 0)
};

struct LeafRequest {
  std::vector<Name> names;             // the subjectAltName entries; the first is the CN
  bool client = false;                 // add clientAuth to the extended key usage
  int days = kDefaultLeafDays;         //
  KeyKind key = KeyKind::EcP256;       // kind of the generated key
  EVP_PKEY* public_key = nullptr;      // certify this key (a CSR's, a shared forge key) instead; not owned
  const X509_NAME* subject = nullptr;  // use this subject (a CSR's) instead of CN=first name; not owned
  bool rsa_pss = false;                // an RSA CA signs with RSASSA-PSS (build::sign_pss), not PKCS#1 v1.5
};

struct IssuedCert {
  ossl::Ptr<X509> cert;
  ossl::Ptr<EVP_PKEY> key;             // the generated key; null when the request brought public_key
  std::vector<ossl::Ptr<X509>> chain;  // what a server sends after the leaf: intermediates, never the root
  std::vector<std::string> warnings;   // one sentence each: names browsers refuse, clamped validity...

  [[nodiscard]] std::string cert_pem() const;
  [[nodiscard]] std::string key_pem() const;    // "" without key
  [[nodiscard]] std::string chain_pem() const;  // leaf followed by chain
};

class Ca {
 public:
  // create makes a new CA in memory (a root, or an intermediate when options.parent is set).
  [[nodiscard]] static Ca create(const CaOptions& options);
  // load reads the CA in dir and checks its files agree; Failure{Kind::CaFile} names the file and why.
  [[nodiscard]] static Ca load(const std::filesystem::path& dir);

  // save writes the CA's files into dir, created (mode 0700) if needed: all of them or none, the
  // key with mode 0600 from the start. An existing CA there is a Failure{Kind::Exists}.
  void save(const std::filesystem::path& dir);

  // issue mints a leaf certificate for request. No file I/O; safe to call from several threads at
  // once on one Ca. Throws Failure{Kind::Usage} for an empty request or bad days.
  [[nodiscard]] IssuedCert issue(const LeafRequest& request) const;

  // require_permitted refuses names this CA's name constraints exclude (every client would reject
  // the certificate): Failure{Kind::Usage} listing them and the constraint, with the --force that
  // issues them anyway. issue() itself only warns, for callers that decide otherwise.
  void require_permitted(const std::vector<Name>& names) const;

  [[nodiscard]] X509* cert() const { return cert_.get(); }
  [[nodiscard]] EVP_PKEY* key() const { return key_.get(); }
  // issuers returns the CAs above this one, parent first, root last; empty for a root.
  [[nodiscard]] const std::vector<ossl::Ptr<X509>>& issuers() const { return issuers_; }
  // root returns the self-signed certificate at the top: this CA's own, or its last issuer.
  [[nodiscard]] X509* root() const { return issuers_.empty() ? cert_.get() : issuers_.back().get(); }
  [[nodiscard]] bool is_intermediate() const { return !issuers_.empty(); }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::vector<std::string>& permitted_dns() const { return permitted_dns_; }
  [[nodiscard]] std::int64_t not_after() const { return not_after_; }
  // warnings about the CA itself (a key file others can read, an Ed25519 key browsers refuse).
  [[nodiscard]] const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  Ca() = default;
  void cache_facts();

  ossl::Ptr<X509> cert_;
  ossl::Ptr<EVP_PKEY> key_;
  std::vector<ossl::Ptr<X509>> issuers_;
  std::filesystem::path dir_;
  // Read once from the certificate so issue() does no parsing.
  std::string name_;
  std::string key_id_;
  std::vector<std::string> permitted_dns_;
  std::int64_t not_after_ = 0;
  std::vector<std::string> warnings_;
};

// default_ca_dir returns where the CA lives when --dir is not given: $TLSLAB_CA, else
// $XDG_DATA_HOME/tlslab/ca (XDG Base Directory spec; relative values are ignored), else
// ~/.local/share/tlslab/ca. Throws Failure{Kind::Usage} if none can be found.
[[nodiscard]] std::filesystem::path default_ca_dir();
// ca_dir_from is default_ca_dir over explicit values (null = unset), for tests.
[[nodiscard]] std::filesystem::path ca_dir_from(const char* tlslab_ca, const char* xdg_data_home, const char* home);

// default_ca_name returns "tlslab development CA (user@host)", so a user can tell their CA from
// others' in a browser's list of authorities.
[[nodiscard]] std::string default_ca_name();

}  // namespace tlslab::pki
