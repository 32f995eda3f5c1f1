#include "tls/client_context.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/err.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "base/files.hpp"
#include "base/text.hpp"
#include "ossl/error.hpp"
#include "ossl/pem.hpp"
#include "tls/revocation.hpp"

namespace tlslab::tls {
namespace {

struct KeylogFile {
  std::mutex mutex;
  std::FILE* file = nullptr;
  std::string path;
};

KeylogFile& keylog() {
  static KeylogFile k;
  return k;
}

void keylog_line(const SSL*, const char* line) {
  auto& k = keylog();
  std::lock_guard lock(k.mutex);
  if (!k.file) return;
  std::fputs(line, k.file);
  std::fputc('\n', k.file);
  std::fflush(k.file);
}

}  // namespace

int parse_tls_version(const std::string& text, const char* option) {
  std::string t = ascii_lower(text);
  for (const char* prefix : {"tlsv", "tls"})
    if (t.rfind(prefix, 0) == 0) t = t.substr(std::string_view(prefix).size());
  if (t == "1.0" || t == "1") return TLS1_VERSION;
  if (t == "1.1") return TLS1_1_VERSION;
  if (t == "1.2") return TLS1_2_VERSION;
  if (t == "1.3") return TLS1_3_VERSION;
  throw Failure(Kind::Usage, fmt::format("{} {}: unknown TLS version (use 1.0, 1.1, 1.2 or 1.3)", option, text));
}

std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255)
      throw Failure(Kind::Usage, fmt::format("--alpn: protocol name '{}' must be 1 to 255 bytes", p));
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

void enable_keylog(SSL_CTX* ctx, const std::string& path) {
  auto& k = keylog();
  {
    std::lock_guard lock(k.mutex);
    if (!k.file) {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd < 0)
        throw Failure(Kind::Write, fmt::format("cannot open key log file {}: {}", path, std::strerror(errno)));
      k.file = ::fdopen(fd, "a");
      k.path = path;
    } else if (k.path != path) {
      throw Failure(Kind::Usage, fmt::format("only one key log file per process ({} already open)", k.path));
    }
  }
  SSL_CTX_set_keylog_callback(ctx, keylog_line);
}

void use_certificate_and_key(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file, Kind kind) {
  auto certs = ossl::parse_certificates(read_file(cert_file, "certificate file", kind), cert_file, kind);
  const std::string& key_path = key_file.empty() ? cert_file : key_file;
  ossl::Ptr<EVP_PKEY> key;
  try {
    key = ossl::parse_private_key(read_file(key_path, "key file", kind), key_path, kind);
  } catch (const Failure& f) {
    if (!key_file.empty()) throw;
    throw Failure(
        kind, fmt::format("{} (no key file was given, so the key was looked for in the certificate file)", f.what()));
  }
  std::vector<X509*> chain;
  for (const auto& c : certs) chain.push_back(c.get());
  use_certificate_and_key(ctx, chain, key.get(), cert_file, key_path, kind);
}

void use_certificate_and_key(SSL_CTX* ctx, const std::vector<X509*>& chain, EVP_PKEY* key,
                             const std::string& cert_source, const std::string& key_source, Kind kind) {
  ossl::check(SSL_CTX_use_certificate(ctx, chain.front()), kind, fmt::format("using certificate {}", cert_source));
  for (size_t i = 1; i < chain.size(); ++i) {
    ossl::check(SSL_CTX_add1_chain_cert(ctx, chain[i]), kind,
                fmt::format("adding chain certificate #{} of {}", i + 1, cert_source));
  }
  if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    throw Failure(kind, fmt::format("key {} does not match the certificate in {}", key_source, cert_source));
  }
}

ClientContext make_client_context(const ClientOptions& o) {
  ClientContext out;
  out.ctx.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = ossl::check(out.ctx.get(), Kind::Generic, "creating a TLS client context");
  int min = o.tls_min.empty() ? 0 : parse_tls_version(o.tls_min, "--tls-min");
  int max = o.tls_max.empty() ? 0 : parse_tls_version(o.tls_max, "--tls-max");
  if (min && max && min > max) throw Failure(Kind::Usage, "--tls-min is higher than --tls-max");
  if ((min && min < TLS1_2_VERSION) || (max && max < TLS1_2_VERSION)) {
    // TLS 1.0 and 1.1 need SHA-1 signatures, which security level 1+ forbids (OpenSSL 3).
    SSL_CTX_set_security_level(ctx, 0);
    out.lowered_security = true;
  }
  if (min) SSL_CTX_set_min_proto_version(ctx, min);
  if (max) SSL_CTX_set_max_proto_version(ctx, max);
  auto usage = [](const char* option, const std::string& value, const char* hint) {
    ERR_clear_error();
    throw Failure(Kind::Usage, fmt::format("{} '{}': {}", option, value, hint));
  };
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str()) != 1)
    usage("--ciphers", o.ciphers, "no cipher matches (see `openssl ciphers -v`)");
  if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, o.ciphersuites.c_str()) != 1)
    usage("--ciphersuites", o.ciphersuites, "not a valid TLS 1.3 suite list (e.g. TLS_AES_128_GCM_SHA256)");
  if (!o.groups.empty() && SSL_CTX_set1_groups_list(ctx, o.groups.c_str()) != 1)
    usage("--groups", o.groups, "unknown group (e.g. X25519:P-256:P-384)");
  if (!o.sigalgs.empty() && SSL_CTX_set1_sigalgs_list(ctx, o.sigalgs.c_str()) != 1)
    usage("--sigalgs", o.sigalgs, "unknown signature algorithm (e.g. ECDSA+SHA256:rsa_pss_rsae_sha256)");
  if (!o.alpn.empty()) {
    auto wire = alpn_wire(o.alpn);
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0)
      usage("--alpn", o.alpn.front(), "could not be set");
  }
  if (!o.cert_file.empty()) use_certificate_and_key(ctx, o.cert_file, o.key_file, Kind::ClientCert);
  out.trust = use_trust(ctx, o.cafile, o.capath);
  if (!o.crlfile.empty()) out.crls = use_crls(ctx, o.crlfile);
  if (!o.keylog_file.empty()) {
    try {
      enable_keylog(ctx, o.keylog_file);
    } catch (const Failure& f) {
      if (o.keylog_variable.empty()) throw;
      throw Failure(f.kind(), fmt::format("{} (the file named by the environment variable {}; fix or unset it)",
                                          f.what(), o.keylog_variable));
    }
  }
  return out;
}

}  // namespace tlslab::tls
