// pki keys — generating, loading and writing private keys by kind name.
//
// A KeyKind is what users type after --key-type ("ec-p256", "rsa-3072", "ed25519"). generate_key()
// makes a fresh key; write_private_key() writes it with mode 0600 from the first byte (temp file +
// rename), never group- or world-readable even for an instant.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/failure.hpp"
#include "ossl/ptr.hpp"

namespace tlslab::pki {

enum class KeyKind { EcP256, EcP384, Rsa2048, Rsa3072, Rsa4096, Ed25519 };

// key_kind_from_name returns the kind named name ("ec-p256"...); an unknown name throws
// Failure{kind} listing the accepted names.
[[nodiscard]] KeyKind key_kind_from_name(std::string_view name, Kind kind = Kind::Usage);

// key_kind_name returns the name users type for kind ("ec-p256").
[[nodiscard]] std::string_view key_kind_name(KeyKind kind);

// key_kind_names lists every accepted name, in --help order.
[[nodiscard]] const std::vector<std::string>& key_kind_names();

// generate_key returns a fresh private key of the given kind.
[[nodiscard]] ossl::Ptr<EVP_PKEY> generate_key(KeyKind kind);

// ec_curve returns the curve of an EC key by its NIST name ("P-256") when it has one, else its
// group name; "" for other keys.
[[nodiscard]] std::string ec_curve(EVP_PKEY* key);

// key_description returns "EC P-256", "RSA 3072", "Ed25519" for any key.
[[nodiscard]] std::string key_description(EVP_PKEY* key);

// signature_digest returns the digest a certificate signed by key should use: SHA-384 for P-384
// and larger curves, SHA-256 for other EC and RSA keys, nullptr for Ed25519/Ed448 (which hash
// internally and take no separate digest).
[[nodiscard]] const EVP_MD* signature_digest(EVP_PKEY* key);

// load_private_key reads an unencrypted PEM or DER private key; `what` names its role in errors
// ("CA key"). Failures throw Failure{kind} naming path.
[[nodiscard]] ossl::Ptr<EVP_PKEY> load_private_key(const std::filesystem::path& path, std::string_view what,
                                                   Kind kind = Kind::Input);

// write_private_key writes key as unencrypted PKCS#8 PEM with mode 0600 (atomic; with exclusive an
// existing path is a Failure{Kind::Exists}).
void write_private_key(const std::filesystem::path& path, EVP_PKEY* key, bool exclusive = false);

}  // namespace tlslab::pki
