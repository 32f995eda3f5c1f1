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

// from_env returns the variable's value, "" when it is unset or empty (OpenSSL's and curl's
// reading of an empty trust variable differs; empty is taken as unset).
std::string from_env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// directories splits a CA directory list ("a:b", as OpenSSL reads SSL_CERT_DIR).
std::vector<std::string> directories(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto colon = list.find(':', start);
    auto part = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!part.empty()) out.push_back(part);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

// named_by adds the environment variable that chose a file to an error about it.
Failure named_by(const Failure& f, const std::string& variable) {
  if (variable.empty()) return f;
  return Failure(f.kind(), fmt::format("{} (set by the environment variable {})", f.what(), variable));
}

std::vector<ossl::Ptr<X509>> read_env_ca_file(const std::string& path) {
  try {
    return read_ca_file(path);
  } catch (const Failure& f) {
    throw named_by(f, "SSL_CERT_FILE");
  }
}

void add_anchors(SSL_CTX* ctx, const std::vector<ossl::Ptr<X509>>& anchors, const std::string& path,
                 const std::string& variable) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  try {
    for (const auto& cert : anchors)
      ossl::check(X509_STORE_add_cert(store, cert.get()), Kind::CaFile, fmt::format("loading CA file {}", path));
  } catch (const Failure& f) {
    throw named_by(f, variable);
  }
}

}  // namespace

std::string_view to_string(TrustStoreKind kind) {
  switch (kind) {
    case TrustStoreKind::System:
      return "system";
    case TrustStoreKind::File:
      return "file";
    case TrustStoreKind::Directory:
      return "directory";
  }
  return "unknown";
}

TrustStoreInfo describe_trust(const std::optional<std::string>& cafile, const std::optional<std::string>& capath) {
  TrustStoreInfo info;
  if (cafile) {
    info.kind = TrustStoreKind::File;
    info.path = *cafile;
    info.anchors = read_ca_file(*cafile).size();
    return info;
  }
  info.kind = capath ? TrustStoreKind::Directory : TrustStoreKind::System;
  info.path = capath ? *capath : "/etc/ssl/certs";
  if (!capath) {
    if (auto dir = from_env(X509_get_default_cert_dir_env()); !dir.empty()) {
      info.path = dir;
      info.variable = X509_get_default_cert_dir_env();
    }
    info.file = from_env(X509_get_default_cert_file_env());
  }
  for (const auto& dir : directories(info.path)) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      throw named_by(Failure(Kind::CaFile, fmt::format("CA directory {}: {}", dir,
                                                       fs::exists(dir, ec) ? "not a directory" : "does not exist")),
                     info.variable);
    info.anchors += count_hashed(dir);
  }
  info.lazy = true;
  if (info.anchors == 0 && (capath || !info.variable.empty()))
    throw named_by(Failure(Kind::CaFile, fmt::format("CA directory {} has no hashed entries (HASH.0); run "
                                                     "`tlslab ca rehash {}` (or `openssl rehash`) first",
                                                     info.path, info.path)),
                   info.variable);
  return info;
}

void load_trust(SSL_CTX* ctx, const TrustStoreInfo& trust) {
  if (trust.kind == TrustStoreKind::File) {
    ossl::check(SSL_CTX_load_verify_file(ctx, trust.path.c_str()), Kind::CaFile,
                fmt::format("loading CA file {}", trust.path));
    return;
  }
  try {
    for (const auto& dir : directories(trust.path))
      ossl::check(SSL_CTX_load_verify_dir(ctx, dir.c_str()), Kind::CaFile, fmt::format("using CA directory {}", dir));
  } catch (const Failure& f) {
    throw named_by(f, trust.variable);
  }
  if (!trust.file.empty()) add_anchors(ctx, read_env_ca_file(trust.file), trust.file, "SSL_CERT_FILE");
}

TrustStoreInfo use_trust(SSL_CTX* ctx, const std::optional<std::string>& cafile,
                         const std::optional<std::string>& capath) {
  // A CA file is parsed once, here, instead of once to count and again by SSL_CTX_load_verify_file.
  if (!cafile) {
    auto info = describe_trust(cafile, capath);
    auto file = std::move(info.file);
    info.file.clear();
    load_trust(ctx, info);  // the directory alone
    if (!file.empty()) {
      auto anchors = read_env_ca_file(file);
      add_anchors(ctx, anchors, file, "SSL_CERT_FILE");
      info.file = file;
      info.file_anchors = anchors.size();
    }
    return info;
  }
  auto anchors = read_ca_file(*cafile);
  add_anchors(ctx, anchors, *cafile, "");
  return TrustStoreInfo{TrustStoreKind::File, *cafile, anchors.size(), false, "", "", 0};
}

std::vector<pki::CertInfo> list_anchors(const TrustStoreInfo& trust) {
  std::vector<pki::CertInfo> out;
  auto add_file = [&](const std::string& path) {
    for (auto& cert : read_ca_file(path)) out.push_back(pki::describe(cert.get()));
  };
  if (trust.kind == TrustStoreKind::File) {
    add_file(trust.path);
    return out;
  }
  std::vector<fs::path> files;
  for (const auto& dir : directories(trust.path)) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (is_hashed_name(entry.path().filename().string())) found.push_back(entry.path());
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  for (const auto& file : files) {
    try {
      add_file(file.string());
    } catch (const Failure&) {
      // A CRL (HASH.rN is filtered by the name) or a broken link: not an anchor.
    }
  }
  if (!trust.file.empty())
    for (auto& cert : read_env_ca_file(trust.file)) out.push_back(pki::describe(cert.get()));
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
