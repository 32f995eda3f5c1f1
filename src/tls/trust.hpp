// tls::TrustStore — where the trust anchors come from, and a look at them.
//
// The default is the system store as the lab uses it: the hashed directory /etc/ssl/certs, which
// OpenSSL reads lazily — it opens only the HASH.N file named
// after the issuer it looks for. That is why Python's get_ca_certs() on such a context lists
// nothing until a handshake has pulled an anchor in.
//
// The environment changes the system store as it does for OpenSSL's default paths and for curl:
// SSL_CERT_DIR replaces the directory (a list separated by ':' as OpenSSL allows), SSL_CERT_FILE
// adds a CA file to it. --cacert and --capath replace both. Errors caused by a variable name it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ossl/ptr.hpp"
#include "pki/cert_info.hpp"

namespace tlslab::tls {

// TrustStoreKind is where the anchors come from: the system store, a CA file (--cacert) or a
// hashed directory (--capath).
enum class TrustStoreKind { System, File, Directory };

// to_string names a kind as the JSON output does: "system", "file", "directory".
[[nodiscard]] std::string_view to_string(TrustStoreKind kind);

struct TrustStoreInfo {
  TrustStoreKind kind = TrustStoreKind::System;
  std::string path;         // the file or directory
  std::size_t anchors = 0;  // certificates in the file, or hashed entries in the directory
  bool lazy = false;        // a directory: anchors are loaded on demand during verification
  std::string variable;     // "SSL_CERT_DIR" when path came from it, "" otherwise
  std::string file;         // system store: the CA file SSL_CERT_FILE adds, "" when none
  std::size_t file_anchors = 0;
};

// describe_trust says where anchors come from for the given --cacert/--capath (none: the system
// store), counting them without parsing a directory's files.
[[nodiscard]] TrustStoreInfo describe_trust(const std::optional<std::string>& cafile,
                                            const std::optional<std::string>& capath);

// load_trust configures ctx's verify store as describe_trust() said; throws Failure{Kind::CaFile}
// naming the file or directory and why.
void load_trust(SSL_CTX* ctx, const TrustStoreInfo& trust);

// use_trust is describe_trust() then load_trust(), reading a CA file only once; returns the
// description. Failure{Kind::CaFile} as they do.
[[nodiscard]] TrustStoreInfo use_trust(SSL_CTX* ctx, const std::optional<std::string>& cafile,
                                       const std::optional<std::string>& capath);

// list_anchors parses every anchor of the store (for --show-ca), SSL_CERT_FILE's included.
[[nodiscard]] std::vector<pki::CertInfo> list_anchors(const TrustStoreInfo& trust);

// find_hashed_file returns the name ("1a2b3c4d.0") of the entry in a hashed directory holding
// exactly cert, or "" when none does. cert must be an anchor this directory supplied (the end of
// a chain verified against it): when HASH.0 is the only entry for its subject, that is the
// answer, without reading the file.
[[nodiscard]] std::string find_hashed_file(const std::string& directory, X509* cert);

// is_hashed_name tells whether a file name looks like "1a2b3c4d.0" (OpenSSL's capath naming).
[[nodiscard]] bool is_hashed_name(const std::string& name);

}  // namespace tlslab::tls
