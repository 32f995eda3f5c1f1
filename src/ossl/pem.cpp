#include "ossl/pem.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>

#include "ossl/error.hpp"

namespace tlslab::ossl {
namespace {

Ptr<BIO> memory_bio(std::string_view data) {
  if (data.size() > INT_MAX) throw Failure(Kind::Input, "input too large");
  return Ptr<BIO>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

bool looks_like_pem(std::string_view data) { return data.find("-----BEGIN ") != std::string_view::npos; }

// refuse_empty names the commonest broken input plainly instead of as a parse error.
void refuse_empty(std::string_view data, std::string_view source, Kind kind) {
  if (data.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw Failure(kind, fmt::format("{}: the file is empty", source));
}

template <class T, class F>
Ptr<T> from_der(std::string_view data, F d2i) {
  auto* p = reinterpret_cast<const unsigned char*>(data.data());
  return Ptr<T>(d2i(nullptr, &p, static_cast<long>(data.size())));
}

}  // namespace

std::vector<Ptr<X509>> parse_certificates(std::string_view data, std::string_view source, Kind kind) {
  std::vector<Ptr<X509>> out;
  refuse_empty(data, source, kind);
  if (looks_like_pem(data)) {
    auto bio = memory_bio(data);
    for (;;) {
      char* name = nullptr;
      char* header = nullptr;
      unsigned char* der = nullptr;
      long len = 0;
      if (!PEM_read_bio(bio.get(), &name, &header, &der, &len)) {
        ERR_clear_error();  // end of input
        break;
      }
      std::string block = name;
      auto bytes = std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(len));
      OPENSSL_free(name);
      OPENSSL_free(header);
      if (block == "CERTIFICATE" || block == "X509 CERTIFICATE" || block == "TRUSTED CERTIFICATE") {
        auto cert =
            block == "TRUSTED CERTIFICATE" ? from_der<X509>(bytes, d2i_X509_AUX) : from_der<X509>(bytes, d2i_X509);
        OPENSSL_free(der);
        if (!cert) fail(kind, fmt::format("{}: certificate #{} is not valid DER", source, out.size() + 1));
        out.push_back(std::move(cert));
      } else {
        OPENSSL_free(der);
      }
    }
    if (out.empty()) throw Failure(kind, fmt::format("{}: no PEM CERTIFICATE block found", source));
    return out;
  }
  auto cert = from_der<X509>(data, d2i_X509);
  if (!cert) {
    ERR_clear_error();
    throw Failure(kind, fmt::format("{}: not a certificate (neither PEM nor DER)", source));
  }
  out.push_back(std::move(cert));
  return out;
}

Ptr<EVP_PKEY> parse_private_key(std::string_view data, std::string_view source, Kind kind) {
  Ptr<EVP_PKEY> key;
  refuse_empty(data, source, kind);
  bool pem = looks_like_pem(data);
  if (pem) {
    auto bio = memory_bio(data);
    // An empty passphrase callback result makes encrypted keys fail instead of prompting.
    key.reset(PEM_read_bio_PrivateKey(
        bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  } else {
    key = from_der<EVP_PKEY>(
        data, [](EVP_PKEY** a, const unsigned char** pp, long len) { return d2i_AutoPrivateKey(a, pp, len); });
  }
  if (!key) {
    auto why = drain_errors();
    if (data.find("ENCRYPTED") != std::string_view::npos)
      throw Failure(kind, fmt::format("{}: the private key is encrypted; decrypt it first "
                                      "(openssl pkey -in {} -out plain-key.pem)",
                                      source, source));
    // OpenSSL's decoders list every format they tried; that says nothing useful here.
    if (!pem) throw Failure(kind, fmt::format("{}: not a private key (neither PEM nor DER)", source));
    if (data.find("PRIVATE KEY-----") == std::string_view::npos)
      throw Failure(kind, fmt::format("{}: no PEM PRIVATE KEY block found", source));
    throw Failure(kind, fmt::format("{}: not a private key{}{}", source, why.empty() ? "" : ": ", why));
  }
  return key;
}

Ptr<X509_REQ> parse_request(std::string_view data, std::string_view source, Kind kind) {
  Ptr<X509_REQ> req;
  if (looks_like_pem(data)) {
    auto bio = memory_bio(data);
    req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  } else {
    req = from_der<X509_REQ>(data, d2i_X509_REQ);
  }
  if (!req) {
    auto why = drain_errors();
    throw Failure(kind, fmt::format("{}: not a certificate signing request{}{}", source, why.empty() ? "" : ": ", why));
  }
  return req;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string to_pem(X509* cert) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), cert), Kind::Generic, "encoding a certificate as PEM");
  return bio_text(bio.get());
}

std::string to_der(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len < 0) fail(Kind::Generic, "encoding a certificate as DER");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string private_key_to_pem(EVP_PKEY* key) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), Kind::Generic,
        "encoding a private key as PEM");
  return bio_text(bio.get());
}

std::string public_key_to_pem(EVP_PKEY* key) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PUBKEY(bio.get(), key), Kind::Generic, "encoding a public key as PEM");
  return bio_text(bio.get());
}

}  // namespace tlslab::ossl
