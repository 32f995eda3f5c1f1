#include "tls/trust.hpp"

#include <fmt/format.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "base/files.hpp"
#include "ossl/error.hpp"
#include "ossl/pem.hpp"

namespace tlslab::tls {
namespace fs = std::filesystem;

bool is_hashed_name(const std::string& name) {
  if (name.size() < 10 || name[8] != '.') return false;
  for (size_t i = 0; i < 8; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(name[i]))) return false;
  for (size_t i = 9; i < name.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  return true;
}

namespace {

std::size_t count_hashed(const std::string& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (is_hashed_name(entry.path().filename().string())) ++n;
  return n;
}

std::string system_dir() {
  const char* env = std::getenv(X509_get_default_cert_dir_env());
  return env && *env ? env : "/etc/ssl/certs";
}

}  // namespace

TrustStoreInfo describe_trust(const std::optional<std::string>& cafile, const std::optional<std::string>& capath) {
  TrustStoreInfo info;
  if (cafile) {
    info.kind = "file";
    info.path = *cafile;
    auto data = read_file(*cafile, "CA file", Kind::CaFile);
    info.anchors = ossl::parse_certificates(data, "CA file " + *cafile, Kind::CaFile).size();
    return info;
  }
  info.kind = capath ? "directory" : "system";
  info.path = capath ? *capath : system_dir();
  std::error_code ec;
  if (!fs::is_directory(info.path, ec))
    throw Failure(Kind::CaFile, fmt::format("CA directory {}: {}", info.path,
                                            fs::exists(info.path, ec) ? "not a directory" : "does not exist"));
  info.anchors = count_hashed(info.path);
  info.lazy = true;
  if (info.anchors == 0 && capath)
    throw Failure(Kind::CaFile, fmt::format("CA directory {} has no hashed entries (HASH.0); run "
                                            "`tlslab ca rehash {}` (or `openssl rehash`) first",
                                            info.path, info.path));
  return info;
}

void load_trust(SSL_CTX* ctx, const TrustStoreInfo& trust) {
  if (trust.kind == "file") {
    ossl::check(SSL_CTX_load_verify_file(ctx, trust.path.c_str()), Kind::CaFile,
                fmt::format("loading CA file {}", trust.path));
  } else {
    ossl::check(SSL_CTX_load_verify_dir(ctx, trust.path.c_str()), Kind::CaFile,
                fmt::format("using CA directory {}", trust.path));
  }
}

std::vector<pki::CertInfo> list_anchors(const TrustStoreInfo& trust) {
  std::vector<pki::CertInfo> out;
  auto add_file = [&](const std::string& path) {
    auto data = read_file(path, "CA file", Kind::CaFile);
    for (auto& cert : ossl::parse_certificates(data, path, Kind::CaFile)) out.push_back(pki::describe(cert.get()));
  };
  if (trust.kind == "file") {
    add_file(trust.path);
    return out;
  }
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(trust.path, ec))
    if (is_hashed_name(entry.path().filename().string())) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    try {
      add_file(file.string());
    } catch (const Failure&) {
      // A CRL (HASH.rN is filtered by the name) or a broken link: not an anchor.
    }
  }
  return out;
}

std::string find_hashed_file(const std::string& directory, X509* cert) {
  auto hash = fmt::format("{:08x}", X509_NAME_hash_ex(X509_get_subject_name(cert), nullptr, nullptr, nullptr));
  for (int i = 0; i < 1000; ++i) {
    auto name = fmt::format("{}.{}", hash, i);
    auto path = fs::path(directory) / name;
    std::error_code ec;
    if (!fs::exists(path, ec)) break;
    try {
      auto data = read_file(path, "CA file", Kind::CaFile);
      for (auto& candidate : ossl::parse_certificates(data, path.string(), Kind::CaFile))
        if (X509_cmp(candidate.get(), cert) == 0) return name;
    } catch (const Failure&) {
    }
  }
  return {};
}

}  // namespace tlslab::tls
