// Reading and writing certificates, keys and requests in PEM or DER.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/failure.hpp"
#include "ossl/ptr.hpp"

namespace tlslab::ossl {

// parse_certificates reads every certificate in data: one or more PEM blocks (other PEM blocks
// and text between them are skipped), or a single DER certificate. `source` names the input in
// errors ("ca.pem"). Throws Failure{kind} if data holds no certificate.
[[nodiscard]] std::vector<Ptr<X509>> parse_certificates(std::string_view data, std::string_view source,
                                                        Kind kind = Kind::Input);

// parse_private_key reads a PEM (PKCS#8 or traditional, unencrypted) or DER private key.
[[nodiscard]] Ptr<EVP_PKEY> parse_private_key(std::string_view data, std::string_view source, Kind kind = Kind::Input);

// parse_request reads a PEM or DER certificate signing request.
[[nodiscard]] Ptr<X509_REQ> parse_request(std::string_view data, std::string_view source, Kind kind = Kind::Input);

[[nodiscard]] std::string to_pem(X509* cert);
[[nodiscard]] std::string to_der(X509* cert);
[[nodiscard]] std::string private_key_to_pem(EVP_PKEY* key);  // PKCS#8, unencrypted
[[nodiscard]] std::string public_key_to_pem(EVP_PKEY* key);

// bio_text returns what a memory BIO holds.
[[nodiscard]] std::string bio_text(BIO* bio);

}  // namespace tlslab::ossl
