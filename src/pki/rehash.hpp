// pki rehash — the HASH.N links a directory needs to serve as OpenSSL's -CApath, as
// `openssl rehash` (and c_rehash before it) make them.
//
// OpenSSL's directory lookup (X509_LOOKUP_hash_dir) looks for an issuer named by the hash of its
// subject (X509_NAME_hash_ex: 8 hex digits) in HASH.0, HASH.1... and stops at the first missing
// number, so the numbers of one hash must run from 0 without gaps. CRLs go in HASH.r0, HASH.r1...
//
// rehash() follows `openssl rehash` semantics: it considers *.pem, *.crt, *.cer and *.crl files
// holding exactly one PEM certificate or CRL; skips repeats of the same certificate; keeps an
// existing correct link where its number is still in range and gives the others the free numbers;
// links by file name only (relative, so the directory can move); removes stale hash links (to
// files gone, changed or repeated); touches no other file. Running it twice changes nothing.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ossl/ptr.hpp"

namespace tlslab::pki {

enum class LinkAction { Created, Kept, Replaced };

struct RehashLink {
  std::string link;     // "3f9a1b2c.0"
  std::string target;   // "ca.pem"
  std::string subject;  // the certificate's subject or the CRL's issuer
  bool crl = false;
  LinkAction action = LinkAction::Created;
};

struct RehashRemoved {
  std::string link;    // "3f9a1b2c.1"
  std::string target;  // what it pointed to
  std::string reason;  // "its target is gone"
};

struct RehashSkipped {
  std::string file;
  std::string reason;  // "holds 3 certificates; a capath needs one per file"
};

struct RehashReport {
  std::filesystem::path dir;
  std::vector<RehashLink> links;  // sorted by link name
  std::vector<RehashRemoved> removed;
  std::vector<RehashSkipped> skipped;
};

// rehash updates dir's hash links and reports what it did. A missing or unreadable directory is a
// Failure{Kind::CaFile}; a link that cannot be made is a Failure{Kind::Write} naming it.
[[nodiscard]] RehashReport rehash(const std::filesystem::path& dir);

// subject_hash returns the 8-hex-digit name of cert's subject as OpenSSL's capath lookup computes it.
[[nodiscard]] std::string subject_hash(X509* cert);

}  // namespace tlslab::pki
