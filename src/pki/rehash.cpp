#include "pki/rehash.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "base/failure.hpp"
#include "base/files.hpp"
#include "base/text.hpp"
#include "ossl/ptr.hpp"
#include "pki/cert_info.hpp"

namespace tlslab::pki {
namespace fs = std::filesystem;
namespace {

// A file that deserves a link.
struct Candidate {
  std::string file;
  std::string subject;
  std::string digest;  // to spot the same certificate or CRL in two files
};

struct Bucket {
  std::vector<Candidate> files;  // sorted by name
};

struct ExistingLink {
  unsigned long hash;
  bool crl;
  int number;
};

// parse_link_name recognises "3f9a1b2c.0" and "3f9a1b2c.r12".
std::optional<ExistingLink> parse_link_name(const std::string& name) {
  if (name.size() < 10 || name[8] != '.') return std::nullopt;
  for (int i = 0; i < 8; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(name[i])) || std::isupper(static_cast<unsigned char>(name[i])))
      return std::nullopt;
  size_t pos = 9;
  bool crl = name[pos] == 'r';
  if (crl) ++pos;
  if (pos >= name.size() || name.size() - pos > 6) return std::nullopt;
  for (size_t i = pos; i < name.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return std::nullopt;
  return ExistingLink{std::stoul(name.substr(0, 8), nullptr, 16), crl, std::stoi(name.substr(pos))};
}

bool has_rehash_suffix(const std::string& name) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = ascii_lower(name.substr(dot + 1));
  return ext == "pem" || ext == "crt" || ext == "cer" || ext == "crl";
}

std::string hex(const unsigned char* data, unsigned len) {
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", data[i]);
  return out;
}

std::string link_name(unsigned long hash, bool crl, int number) {
  return fmt::format("{:08x}.{}{}", hash, crl ? "r" : "", number);
}

std::string name_text(const X509_NAME* name) {
  ossl::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// symlink_atomic points link at target, replacing whatever link was there in one rename.
void symlink_atomic(const fs::path& dir, const std::string& link, const std::string& target) {
  std::random_device rd;
  auto temp = dir / fmt::format(".{}.tmp{:08x}", link, rd());
  if (::symlink(target.c_str(), temp.c_str()) != 0 || ::rename(temp.c_str(), (dir / link).c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw Failure(Kind::Write,
                  fmt::format("cannot link {} -> {}: {}", (dir / link).string(), target, std::strerror(err)));
  }
}

struct Scanned {
  std::map<std::pair<unsigned long, bool>, Bucket> buckets;
  std::vector<RehashSkipped> skipped;
};

// examine reads one candidate file and files it in its bucket, or says why it is skipped.
void examine(const fs::path& dir, const std::string& file, Scanned& scan) {
  std::string data;
  try {
    data = read_file(dir / file, "file", Kind::CaFile);
  } catch (const Failure& f) {
    scan.skipped.push_back({file, f.what()});
    return;
  }
  ossl::Ptr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  ossl::Ptr<STACK_OF(X509_INFO)> infos(PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  int certs = 0, crls = 0;
  X509* cert = nullptr;
  X509_CRL* crl = nullptr;
  for (int i = 0; infos && i < sk_X509_INFO_num(infos.get()); ++i) {
    X509_INFO* info = sk_X509_INFO_value(infos.get(), i);
    if (info->x509) ++certs, cert = info->x509;
    if (info->crl) ++crls, crl = info->crl;
  }
  if (certs + crls != 1) {
    std::string why;
    if (certs + crls == 0) {
      auto* p = reinterpret_cast<const unsigned char*>(data.data());
      ossl::Ptr<X509> der(d2i_X509(nullptr, &p, static_cast<long>(data.size())));
      ERR_clear_error();
      why = der ? fmt::format("is DER; a capath needs PEM (openssl x509 -in {} -out {}.pem)", file, file)
                : std::string("holds no PEM certificate or CRL");
    } else {
      why = fmt::format("holds {} certificates and {} CRLs; a capath needs exactly one per file", certs, crls);
    }
    scan.skipped.push_back({file, why});
    return;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned md_len = 0;
  const X509_NAME* name = cert ? X509_get_subject_name(cert) : X509_CRL_get_issuer(crl);
  unsigned long hash = X509_NAME_hash_ex(name, nullptr, nullptr, nullptr);
  if (cert)
    X509_digest(cert, EVP_sha256(), md, &md_len);
  else
    X509_CRL_digest(crl, EVP_sha256(), md, &md_len);
  scan.buckets[{hash, crl != nullptr}].files.push_back({file, name_text(name), hex(md, md_len)});
}

}  // namespace

std::string subject_hash(X509* cert) {
  return fmt::format("{:08x}", X509_NAME_hash_ex(X509_get_subject_name(cert), nullptr, nullptr, nullptr));
}

RehashReport rehash(const fs::path& dir) {
  RehashReport report{.dir = dir};
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Failure(Kind::CaFile, fmt::format("cannot rehash {}: {}", dir.string(),
                                            fs::exists(dir, ec) ? "not a directory" : "no such directory"));
  std::vector<std::string> names;
  fs::directory_iterator it(dir, ec);
  if (ec) throw Failure(Kind::CaFile, fmt::format("cannot read the directory {}: {}", dir.string(), ec.message()));
  for (const auto& entry : it) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());

  Scanned scan;
  std::map<std::pair<unsigned long, bool>, std::map<int, std::string>> existing;
  for (const auto& name : names) {
    auto path = dir / name;
    bool is_link = fs::is_symlink(path, ec);
    if (auto parsed = parse_link_name(name)) {
      // Hash-named files that are not links are someone else's; leave them be.
      if (is_link) existing[{parsed->hash, parsed->crl}][parsed->number] = fs::read_symlink(path, ec).string();
      continue;
    }
    if (!has_rehash_suffix(name) || !fs::is_regular_file(path, ec)) continue;  // follows links, like openssl
    examine(dir, name, scan);
  }
  report.skipped = std::move(scan.skipped);
  std::map<std::pair<unsigned long, bool>, int> needed;

  for (auto& [key, bucket] : scan.buckets) {
    // The same certificate in two files needs one link.
    std::vector<Candidate> unique;
    for (auto& c : bucket.files) {
      auto same = std::find_if(unique.begin(), unique.end(), [&](const Candidate& u) { return u.digest == c.digest; });
      if (same != unique.end())
        report.skipped.push_back(
            {c.file, fmt::format("the same {} as {}", key.second ? "CRL" : "certificate", same->file)});
      else
        unique.push_back(std::move(c));
    }
    auto& links = existing[key];
    int n = static_cast<int>(unique.size());
    needed[key] = n;
    std::set<int> used;
    std::vector<const Candidate*> unlinked;
    for (const auto& c : unique) {
      auto kept = std::find_if(links.begin(), links.end(), [&](const auto& l) {
        return l.first < n && l.second == c.file && !used.count(l.first);
      });
      if (kept != links.end()) {
        used.insert(kept->first);
        report.links.push_back(
            {link_name(key.first, key.second, kept->first), c.file, c.subject, key.second, LinkAction::Kept});
      } else {
        unlinked.push_back(&c);
      }
    }
    int next = 0;
    for (const auto* c : unlinked) {
      while (used.count(next)) ++next;
      auto name = link_name(key.first, key.second, next);
      bool replacing = links.count(next) != 0;
      symlink_atomic(dir, name, c->file);
      used.insert(next);
      report.links.push_back(
          {name, c->file, c->subject, key.second, replacing ? LinkAction::Replaced : LinkAction::Created});
    }
  }
  // Numbers 0..n-1 of each hash are now in use; any other hash link is stale.
  for (const auto& [key, links] : existing) {
    auto bucket = scan.buckets.find(key);
    int n = bucket == scan.buckets.end() ? 0 : needed[key];
    for (const auto& entry : links) {
      const auto& [number, target] = entry;
      const std::string& wanted = target;  // a plain reference: clang 14 cannot capture a structured binding
      if (number < n) continue;
      auto name = link_name(key.first, key.second, number);
      bool still_linked = std::any_of(report.links.begin(), report.links.end(),
                                      [&](const RehashLink& l) { return l.target == wanted; });
      std::string reason = !fs::exists(dir / target, ec) ? "its target is gone"
                           : still_linked                ? "its target is linked under a lower number now"
                                                         : "its target holds no certificate or CRL of this hash";
      if (::unlink((dir / name).c_str()) != 0 && errno != ENOENT)
        throw Failure(Kind::Write,
                      fmt::format("cannot remove the stale link {}: {}", (dir / name).string(), std::strerror(errno)));
      report.removed.push_back({name, target, reason});
    }
  }
  std::sort(report.links.begin(), report.links.end(),
            [](const RehashLink& a, const RehashLink& b) { return a.link < b.link; });
  return report;
}

}  // namespace tlslab::pki
