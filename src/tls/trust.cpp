#include "tls/trust.hpp"

#include <dirent.h>
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

// count_hashed counts HASH.N entries with readdir: no path objects per entry, as the system
// directory has hundreds of them and this runs on every connect.
std::size_t count_hashed(const std::string& dir) {
  std::size_t n = 0;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  while (const dirent* entry = ::readdir(d))
    if (is_hashed_name(entry->d_name)) ++n;
  ::closedir(d);
  return n;
}

std::vector<ossl::Ptr<X509>> read_ca_file(const std::string& path) {
  return ossl::parse_certificates(read_file(path, "CA file", Kind::CaFile), "CA file " + path, Kind::CaFile);
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
    info.anchors = read_ca_file(*cafile).size();
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

TrustStoreInfo use_trust(SSL_CTX* ctx, const std::optional<std::string>& cafile,
                         const std::optional<std::string>& capath) {
  if (!cafile) {
    auto info = describe_trust(cafile, capath);
    load_trust(ctx, info);
    return info;
  }
  // A CA file is parsed once, here, instead of once to count and again by SSL_CTX_load_verify_file.
  auto anchors = read_ca_file(*cafile);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (auto& cert : anchors)
    ossl::check(X509_STORE_add_cert(store, cert.get()), Kind::CaFile, fmt::format("loading CA file {}", *cafile));
  return TrustStoreInfo{"file", *cafile, anchors.size(), false};
}

std::vector<pki::CertInfo> list_anchors(const TrustStoreInfo& trust) {
  std::vector<pki::CertInfo> out;
  auto add_file = [&](const std::string& path) {
    for (auto& cert : read_ca_file(path)) out.push_back(pki::describe(cert.get()));
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
  std::error_code ec;
  // The anchor came from this directory's HASH.N files: when HASH.0 is the only one, it is the
  // one, without reading and parsing it again.
  if (fs::exists(fs::path(directory) / (hash + ".0"), ec) && !fs::exists(fs::path(directory) / (hash + ".1"), ec))
    return hash + ".0";
  for (int i = 0; i < 1000; ++i) {
    auto name = fmt::format("{}.{}", hash, i);
    auto path = fs::path(directory) / name;
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
