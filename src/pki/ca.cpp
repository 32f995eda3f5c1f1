#include "pki/ca.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/err.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/file_set.hpp"
#include "base/files.hpp"
#include "ossl/error.hpp"
#include "ossl/pem.hpp"
#include "pki/cert_info.hpp"
#include "pki/x509_build.hpp"

namespace tlslab::pki {
namespace fs = std::filesystem;
namespace {

constexpr std::int64_t kDay = 86400;

void check_days(int days) {
  if (days < 1) throw Failure(Kind::Usage, fmt::format("--days must be at least 1 (got {})", days));
}

std::string pem_of(const std::vector<ossl::Ptr<X509>>& certs) {
  std::string out;
  for (const auto& cert : certs) out += ossl::to_pem(cert.get());
  return out;
}

bool is_self_signed(X509* cert) { return (X509_get_extension_flags(cert) & EXFLAG_SS) != 0; }

// load_issuers reads chain.pem of an intermediate CA and checks it starts with ca's issuer.
std::vector<ossl::Ptr<X509>> load_issuers(const fs::path& dir, X509* ca, const fs::path& cert_path) {
  auto path = dir / kCaChainFile;
  if (!fs::exists(path))
    throw Failure(Kind::CaFile, fmt::format("{} is an intermediate CA but {} (its issuers, up to the root) is missing",
                                            cert_path.string(), path.string()));
  auto issuers = ossl::parse_certificates(read_file(path, "CA chain", Kind::CaFile), path.string(), Kind::CaFile);
  if (X509_check_issued(issuers.front().get(), ca) != X509_V_OK)
    throw Failure(Kind::CaFile,
                  fmt::format("{}: its first certificate did not issue {}", path.string(), cert_path.string()));
  return issuers;
}

void warn_if_readable(const fs::path& key_path, std::vector<std::string>& warnings) {
  struct stat st {};
  if (::stat(key_path.c_str(), &st) == 0 && (st.st_mode & 077))
    warnings.push_back(fmt::format("{} can be read by other users (mode {:04o}); run: chmod 600 {}", key_path.string(),
                                   st.st_mode & 0777, key_path.string()));
}

// new_certificate returns a v3 certificate with a random serial, valid from a little before now
// for `days`, but never past limit (its issuer's notAfter): cutting it more than a day short is
// worth a warning (a CA made right after its parent with the same --days ends seconds later).
ossl::Ptr<X509> new_certificate(int days, std::int64_t limit, std::string_view what,
                                std::vector<std::string>& warnings) {
  check_days(days);
  ossl::Ptr<X509> cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3)) ossl::fail(Kind::Generic, "building a certificate");
  build::set_random_serial(cert.get());
  auto now = now_epoch();
  auto not_after = now + days * kDay;
  if (not_after - limit > kDay)
    warnings.push_back(fmt::format("the {} expires on {}, so this {} ends then too, not after {} days",
                                   what == "CA" ? "parent CA" : "CA", format_time(limit), what, days));
  build::set_validity(cert.get(), now - kBackdateSeconds, std::min(not_after, limit));
  return cert;
}

std::string leaf_warning_for_key(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519)
    return "the key is Ed25519: browsers do not accept Ed25519 certificates yet (use ec-p256 for them)";
  return {};
}

}  // namespace

std::string IssuedCert::cert_pem() const { return ossl::to_pem(cert.get()); }

std::string IssuedCert::key_pem() const { return key ? ossl::private_key_to_pem(key.get()) : std::string(); }

std::string IssuedCert::chain_pem() const { return cert_pem() + pem_of(chain); }

Ca Ca::create(const CaOptions& options) {
  std::string name =
      options.name.empty() ? (options.parent ? "tlslab intermediate CA" : default_ca_name()) : options.name;
  if (name.size() > 64)
    throw Failure(Kind::Usage,
                  fmt::format("--name is {} characters long; a common name holds at most 64", name.size()));
  const Ca* parent = options.parent;
  if (parent && parent->is_intermediate() && X509_get_pathlen(parent->cert()) == 0)
    throw Failure(Kind::CaFile, fmt::format("the parent CA in {} has pathLenConstraint 0: it can only issue leaf "
                                            "certificates, not another CA",
                                            parent->dir().string()));
  Ca ca;
  ca.cert_ = new_certificate(options.days, parent ? parent->not_after() : INT64_MAX, "CA", ca.warnings_);
  ca.key_ = generate_key(options.key);
  X509* cert = ca.cert_.get();
  auto subject = build::common_name_subject(name, "tlslab");
  X509_set_subject_name(cert, subject.get());
  X509_set_issuer_name(cert, parent ? X509_get_subject_name(parent->cert()) : subject.get());
  X509_set_pubkey(cert, ca.key_.get());
  // An intermediate gets pathLen 0: it issues leaves only, so a stolen one cannot mint more CAs.
  build::add_basic_constraints(cert, true, parent ? 0 : -1);
  build::add_key_usage(cert, KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  build::add_subject_key_id(cert);
  // A root's authorityKeyIdentifier would only repeat its own key id (RFC 5280 §4.2.1.1 lets it go).
  if (parent) build::add_authority_key_id(cert, parent->key_id_);
  if (!options.permit_dns.empty()) build::add_dns_name_constraints(cert, options.permit_dns);
  build::sign(cert, parent ? parent->key() : ca.key_.get());
  if (parent) {
    ca.issuers_.push_back(ossl::up_ref(parent->cert()));
    for (const auto& issuer : parent->issuers()) ca.issuers_.push_back(ossl::up_ref(issuer.get()));
  }
  ca.cache_facts();
  if (auto w = leaf_warning_for_key(ca.key_.get()); !w.empty()) ca.warnings_.push_back(w);
  return ca;
}

Ca Ca::load(const fs::path& dir) {
  auto init_hint = fmt::format("create one with: tlslab ca init --dir {}", dir.string());
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Failure(Kind::CaFile,
                  fmt::format("no CA in {}: {} ({})", dir.string(),
                              fs::exists(dir, ec) ? "not a directory" : "the directory does not exist", init_hint));
  auto cert_path = dir / kCaCertFile;
  auto key_path = dir / kCaKeyFile;
  if (!fs::exists(cert_path, ec))
    throw Failure(Kind::CaFile,
                  fmt::format("no CA in {}: {} is missing ({})", dir.string(), cert_path.string(), init_hint));
  auto certs =
      ossl::parse_certificates(read_file(cert_path, "CA certificate", Kind::CaFile), cert_path.string(), Kind::CaFile);
  if (certs.size() != 1)
    throw Failure(Kind::CaFile, fmt::format("{} holds {} certificates; it should hold the CA certificate alone",
                                            cert_path.string(), certs.size()));
  Ca ca;
  ca.dir_ = dir;
  ca.cert_ = std::move(certs.front());
  X509* cert = ca.cert_.get();
  if (X509_check_ca(cert) < 1)
    throw Failure(Kind::CaFile, fmt::format("{} is not a CA certificate (it lacks basicConstraints CA:TRUE or the "
                                            "keyCertSign key usage)",
                                            cert_path.string()));
  if (!fs::exists(key_path, ec))
    throw Failure(Kind::CaFile, fmt::format("{} is missing: without its key the CA in {} cannot sign",
                                            key_path.string(), dir.string()));
  ca.key_ = load_private_key(key_path, "CA key", Kind::CaFile);
  if (X509_check_private_key(cert, ca.key_.get()) != 1) {
    ERR_clear_error();
    throw Failure(Kind::CaFile, fmt::format("{} does not belong to {} (their public keys differ)", key_path.string(),
                                            cert_path.string()));
  }
  if (!is_self_signed(cert)) ca.issuers_ = load_issuers(dir, cert, cert_path);
  ca.cache_facts();
  if (ca.not_after_ < now_epoch())
    throw Failure(Kind::CaFile, fmt::format("the CA {} expired on {}; make a new one with tlslab ca init",
                                            cert_path.string(), format_time(ca.not_after_)));
  warn_if_readable(key_path, ca.warnings_);
  return ca;
}

void Ca::cache_facts() {
  auto info = describe(cert_.get());
  name_ = info.common_name.empty() ? info.subject : info.common_name;
  permitted_dns_ = info.permitted_dns;
  not_after_ = info.not_after;
  key_id_ = build::subject_key_id(cert_.get());
}

void Ca::save(const fs::path& dir) {
  std::error_code ec;
  for (const char* file : {kCaCertFile, kCaKeyFile})
    if (fs::exists(dir / file, ec))
      throw Failure(Kind::Exists, fmt::format("a CA already exists in {} ({} is there); refusing to overwrite it",
                                              dir.string(), file));
  if (!fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec)
      throw Failure(Kind::Write, fmt::format("cannot create the CA directory {}: {}", dir.string(), ec.message()));
    // The folder holds a signing key: keep it private from the start.
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  std::vector<OutputFile> files = {
      {dir / kCaKeyFile, ossl::private_key_to_pem(key_.get()), 0600},
      {dir / kCaCertFile, ossl::to_pem(cert_.get()), 0644},
  };
  if (!issuers_.empty()) {
    files.push_back({dir / kCaChainFile, pem_of(issuers_), 0644});
    files.push_back({dir / kCaRootFile, ossl::to_pem(root()), 0644});
  }
  write_files_atomic(files, /*exclusive=*/true);
  dir_ = dir;
}

IssuedCert Ca::issue(const LeafRequest& request) const {
  if (request.names.empty()) throw Failure(Kind::Usage, "nothing to certify: give at least one name");
  IssuedCert out;
  out.cert = new_certificate(request.days, not_after_, "certificate", out.warnings);
  X509* cert = out.cert.get();
  EVP_PKEY* public_key = request.public_key;
  if (!public_key) {
    out.key = generate_key(request.key);
    public_key = out.key.get();
  }
  ossl::Ptr<X509_NAME> subject;
  if (!request.subject) subject = build::common_name_subject(request.names.front().value);
  const X509_NAME* subject_name = request.subject ? request.subject : subject.get();
  // X509_set_pubkey is most of the cost of a leaf under OpenSSL 3.0 (~270 µs: it encodes the key
  // through the encoder framework, then decodes it again). Building the SubjectPublicKeyInfo by
  // hand is fast but leaves the certificate without its decoded key, which SSL_CTX_use_certificate
  // and X509_check_private_key need, so the slow, complete way is kept.
  if (!X509_set_subject_name(cert, subject_name) || !X509_set_issuer_name(cert, X509_get_subject_name(cert_.get())) ||
      !X509_set_pubkey(cert, public_key))
    ossl::fail(Kind::Generic, "building a certificate: subject, issuer and key");
  build::add_basic_constraints(cert, false);
  // keyEncipherment only matters for RSA key exchange (TLS 1.2 RSA suites); EC and EdDSA keys sign.
  unsigned usage = KU_DIGITAL_SIGNATURE;
  if (EVP_PKEY_get_base_id(public_key) == EVP_PKEY_RSA) usage |= KU_KEY_ENCIPHERMENT;
  build::add_key_usage(cert, usage);
  // The extended key usage follows from the names, as mkcert's does.
  std::vector<int> eku;
  bool any_host = false, any_email = false;
  for (const auto& name : request.names) (name.kind == NameKind::Email ? any_email : any_host) = true;
  if (any_host) eku.push_back(NID_server_auth);
  if (request.client) eku.push_back(NID_client_auth);
  if (any_email) eku.push_back(NID_email_protect);
  build::add_extended_key_usage(cert, eku);
  build::add_subject_alt_names(cert, request.names, X509_NAME_entry_count(subject_name) == 0);
  build::add_subject_key_id(cert);
  build::add_authority_key_id(cert, key_id_);
  if (request.rsa_pss && EVP_PKEY_get_base_id(key_.get()) == EVP_PKEY_RSA)
    build::sign_pss(cert, key_.get());
  else
    build::sign(cert, key_.get());

  if (is_intermediate()) {
    out.chain.push_back(ossl::up_ref(cert_.get()));
    for (const auto& issuer : issuers_)
      if (!is_self_signed(issuer.get())) out.chain.push_back(ossl::up_ref(issuer.get()));
  }
  for (auto& w : browser_warnings(request.names)) out.warnings.push_back(std::move(w));
  for (const auto& name : request.names)
    if (!permitted_by(name, permitted_dns_))
      out.warnings.push_back(
          fmt::format("{} is outside the CA's name constraints (permitted: {}); clients will "
                      "reject this certificate",
                      name.value, fmt::join(permitted_dns_, ", ")));
  if (request.days > kAppleMaxLeafDays)
    out.warnings.push_back(
        fmt::format("{} days is more than the {} Apple platforms accept for a TLS server "
                    "certificate; Safari and macOS/iOS clients will refuse it",
                    request.days, kAppleMaxLeafDays));
  if (auto w = leaf_warning_for_key(public_key); !w.empty()) out.warnings.push_back(w);
  return out;
}

void Ca::require_permitted(const std::vector<Name>& names) const {
  std::vector<std::string> outside;
  for (const auto& name : names)
    if (!permitted_by(name, permitted_dns_)) outside.push_back(name.value);
  if (outside.empty()) return;
  throw Failure(Kind::Usage,
                fmt::format("{} {} outside the name constraints of \"{}\": it may issue only for {} and names under "
                            "{}, and for no IP address; every client would reject the certificate (--force issues "
                            "it anyway)",
                            fmt::join(outside, ", "), outside.size() == 1 ? "is" : "are", name_,
                            fmt::join(permitted_dns_, ", "), permitted_dns_.size() == 1 ? "it" : "them"));
}

fs::path ca_dir_from(const char* tlslab_ca, const char* xdg_data_home, const char* home) {
  if (tlslab_ca && *tlslab_ca) return tlslab_ca;
  // XDG Base Directory spec: "If an implementation encounters a relative path in any of these
  // variables it should consider the path invalid and ignore it."
  if (xdg_data_home && *xdg_data_home == '/') return fs::path(xdg_data_home) / "tlslab" / "ca";
  if (home && *home) return fs::path(home) / ".local" / "share" / "tlslab" / "ca";
  throw Failure(Kind::Usage, "cannot tell where the CA lives: HOME is not set; give --dir or set TLSLAB_CA");
}

fs::path default_ca_dir() {
  return ca_dir_from(std::getenv("TLSLAB_CA"), std::getenv("XDG_DATA_HOME"), std::getenv("HOME"));
}

std::string default_ca_name() {
  std::string user;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) user = pw->pw_name;
  if (user.empty())
    if (const char* env = std::getenv("USER")) user = env;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  auto name = fmt::format("tlslab development CA ({}@{})", user.empty() ? "user" : user, host);
  return name.size() <= 64 ? name : "tlslab development CA";
}

}  // namespace tlslab::pki
