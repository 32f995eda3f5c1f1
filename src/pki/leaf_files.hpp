// pki leaf_files — where an issued certificate is written, named from its names as mkcert names
// them ("www.bank32.com+2.pem", "www.bank32.com+2-key.pem", "www.bank32.com+2-chain.pem").
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pki/ca.hpp"
#include "pki/names.hpp"

namespace tlslab::pki {

struct LeafPaths {
  std::filesystem::path cert;
  std::filesystem::path key;    // empty: no key to write (a signed CSR)
  std::filesystem::path chain;  // empty: the CA is a root, the certificate alone is the chain
};

// leaf_file_stem returns the first name's value with '*' spelled "_wildcard" and ':' as '_', then
// "+N" for N further names and "-client" for a client certificate.
[[nodiscard]] std::string leaf_file_stem(const std::vector<Name>& names, bool client);

// leaf_paths places the files: with out empty, in the current directory under the stem; with out
// an existing directory (or ending in '/'), in it under the stem; otherwise out is the prefix
// ("out/www" gives out/www.pem, out/www-key.pem, out/www-chain.pem).
[[nodiscard]] LeafPaths leaf_paths(const std::string& out, const std::vector<Name>& names, bool client, bool with_key,
                                   bool with_chain);

// write_leaf writes the certificate, its key (0600) and its chain as set in paths, all or none.
void write_leaf(const IssuedCert& issued, const LeafPaths& paths);

}  // namespace tlslab::pki
