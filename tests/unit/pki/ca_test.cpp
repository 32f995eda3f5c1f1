#include "pki/ca.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <fstream>

#include "base/files.hpp"
#include "ca_folders.hpp"
#include "ossl/pem.hpp"
#include "pki/cert_info.hpp"
#include "pki/leaf_files.hpp"
#include "support/failure.hpp"
#include "support/temp_dir.hpp"

namespace tlslab::pki {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tlslab::testing::failure_message;
using tlslab::testing::TempDir;

// verify runs X509_verify_cert on leaf with root as the only trust anchor and the given
// untrusted intermediates; returns the X509_V_* result.
int verify(X509* leaf, X509* root, const std::vector<ossl::Ptr<X509>>& chain = {}, const char* host = nullptr) {
  ossl::Ptr<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), root);
  ossl::Ptr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  for (const auto& c : chain) sk_X509_push(untrusted.get(), ossl::up_ref(c.get()).release());
  ossl::Ptr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get());
  if (host) X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), host, 0);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

TEST(Ca, RootHasTheRightExtensions) {
  auto ca = Ca::create({.name = "Lab Root"});
  auto info = describe(ca.cert());
  EXPECT_EQ(info.common_name, "Lab Root");
  EXPECT_TRUE(info.self_signed);
  EXPECT_TRUE(info.is_ca);
  EXPECT_TRUE(info.basic_constraints_critical);
  EXPECT_FALSE(info.path_len.has_value());
  EXPECT_THAT(info.key_usage, ElementsAre("keyCertSign", "cRLSign"));
  EXPECT_FALSE(info.subject_key_id.empty());
  EXPECT_THAT(days_between(now_epoch(), info.not_after), ::testing::AnyOf(kDefaultCaDays - 1, kDefaultCaDays));
  EXPECT_FALSE(ca.is_intermediate());
}

TEST(Ca, IssuesALeafThatVerifies) {
  auto ca = Ca::create({.name = "Lab Root"});
  auto issued = ca.issue({.names = parse_names({"www.bank32.com", "*.bank32.com", "127.0.0.1", "::1"})});
  ASSERT_TRUE(issued.key);
  EXPECT_TRUE(issued.chain.empty());
  EXPECT_EQ(verify(issued.cert.get(), ca.cert()), X509_V_OK);
  EXPECT_EQ(verify(issued.cert.get(), ca.cert(), {}, "api.bank32.com"), X509_V_OK);
  EXPECT_EQ(verify(issued.cert.get(), ca.cert(), {}, "www.other.com"), X509_V_ERR_HOSTNAME_MISMATCH);
  auto info = describe(issued.cert.get());
  EXPECT_EQ(info.common_name, "www.bank32.com");
  ASSERT_EQ(info.sans.size(), 4u);
  EXPECT_EQ(info.sans[3].value, "::1");
  EXPECT_THAT(info.extended_key_usage, ElementsAre("serverAuth"));
  EXPECT_THAT(info.key_usage, ElementsAre("digitalSignature"));
  EXPECT_FALSE(info.is_ca);
  EXPECT_EQ(info.authority_key_id, describe(ca.cert()).subject_key_id);
  EXPECT_EQ(info.key_curve, "P-256");
  EXPECT_GE(info.serial_hex.size(), 8u * 3 - 1);  // at least 64 bits
  EXPECT_THAT(days_between(now_epoch(), info.not_after), ::testing::AnyOf(kDefaultLeafDays - 1, kDefaultLeafDays));
  EXPECT_LE(info.not_before, now_epoch() - kBackdateSeconds + 5);
}

TEST(Ca, SerialsDiffer) {
  auto ca = Ca::create({});
  auto a = ca.issue({.names = parse_names({"a.test"})});
  auto b = ca.issue({.names = parse_names({"a.test"})});
  EXPECT_NE(describe(a.cert.get()).serial_hex, describe(b.cert.get()).serial_hex);
}

TEST(Ca, ClientAndEmailUsages) {
  auto ca = Ca::create({});
  auto issued = ca.issue({.names = parse_names({"me@bank32.test"}), .client = true, .key = KeyKind::Rsa2048});
  auto info = describe(issued.cert.get());
  EXPECT_THAT(info.extended_key_usage, ElementsAre("clientAuth", "emailProtection"));
  EXPECT_THAT(info.key_usage, ElementsAre("digitalSignature", "keyEncipherment"));
}

TEST(Ca, EveryKeyKindSigns) {
  for (auto kind : {KeyKind::EcP384, KeyKind::Rsa2048, KeyKind::Ed25519}) {
    auto ca = Ca::create({.key = kind});
    auto issued = ca.issue({.names = parse_names({"k.test"}), .key = kind});
    EXPECT_EQ(verify(issued.cert.get(), ca.cert()), X509_V_OK) << key_kind_name(kind);
  }
  auto p384 = Ca::create({.key = KeyKind::EcP384});
  EXPECT_EQ(describe(p384.cert()).signature_algorithm, "ecdsa-with-SHA384");
  auto ed = Ca::create({.key = KeyKind::Ed25519});
  EXPECT_THAT(ed.warnings(), Contains(HasSubstr("browsers do not accept Ed25519")));
}

TEST(Ca, IntermediateChainVerifies) {
  auto root = Ca::create({.name = "Root"});
  auto sub = Ca::create({.name = "Sub", .parent = &root});
  EXPECT_TRUE(sub.is_intermediate());
  EXPECT_EQ(sub.root(), root.cert());
  auto sub_info = describe(sub.cert());
  EXPECT_EQ(sub_info.path_len, 0);
  EXPECT_EQ(sub_info.issuer, describe(root.cert()).subject);
  auto issued = sub.issue({.names = parse_names({"www.bank32.com"})});
  ASSERT_EQ(issued.chain.size(), 1u);
  EXPECT_EQ(X509_cmp(issued.chain[0].get(), sub.cert()), 0);
  EXPECT_EQ(verify(issued.cert.get(), root.cert(), issued.chain), X509_V_OK);
  EXPECT_NE(verify(issued.cert.get(), root.cert()), X509_V_OK);  // the intermediate is needed
  // pathLen 0 forbids a CA under the intermediate.
  EXPECT_THAT(failure_message([&] { (void)Ca::create({.parent = &sub}); }, Kind::CaFile),
              HasSubstr("pathLenConstraint 0"));
}

TEST(Ca, NameConstraintsAreEnforcedByOpenSSL) {
  auto ca = Ca::create({.name = "Test-only", .permit_dns = {"test"}});
  EXPECT_THAT(ca.permitted_dns(), ElementsAre("test"));
  auto inside = ca.issue({.names = parse_names({"www.bank32.test"})});
  EXPECT_TRUE(inside.warnings.empty());
  EXPECT_EQ(verify(inside.cert.get(), ca.cert()), X509_V_OK);
  auto outside = ca.issue({.names = parse_names({"www.bank32.com"})});
  EXPECT_THAT(outside.warnings, Contains(HasSubstr("outside the CA's name constraints")));
  EXPECT_EQ(verify(outside.cert.get(), ca.cert()), X509_V_ERR_PERMITTED_VIOLATION);
  auto address = ca.issue({.names = parse_names({"www.bank32.test", "127.0.0.1"})});
  EXPECT_EQ(verify(address.cert.get(), ca.cert()), X509_V_ERR_EXCLUDED_VIOLATION);
}

TEST(Ca, RequirePermittedRefusesWhatClientsWouldReject) {
  auto ca = Ca::create({.name = "Test-only", .permit_dns = {"test"}});
  ca.require_permitted(parse_names({"www.bank32.test", "test", "me@lab.test"}));  // no throw
  EXPECT_THAT(failure_message(
                  [&] {
                    ca.require_permitted(parse_names({"a.test", "bar.example", "127.0.0.1"}));
                  },
                  Kind::Usage),
              AllOf(HasSubstr("bar.example, 127.0.0.1 are outside the name constraints of \"Test-only\""),
                    HasSubstr("only for test and names under it"), HasSubstr("--force")));
  Ca::create({.name = "Unconstrained"}).require_permitted(parse_names({"bar.example", "127.0.0.1"}));
}

TEST(Ca, CertifiesAGivenKeyAndSubject) {
  auto ca = Ca::create({});
  auto key = generate_key(KeyKind::EcP256);
  ossl::Ptr<X509_NAME> subject(X509_NAME_new());
  X509_NAME_add_entry_by_txt(subject.get(), "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Bank"), -1, -1,
                             0);
  auto issued = ca.issue({.names = parse_names({"bank.test"}), .public_key = key.get(), .subject = subject.get()});
  EXPECT_FALSE(issued.key);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(issued.cert.get()), key.get()), 1);
  EXPECT_EQ(describe(issued.cert.get()).subject, "O=Bank");
}

TEST(Ca, WarnsAndClampsValidity) {
  auto ca = Ca::create({.days = 30});
  auto issued = ca.issue({.names = parse_names({"*.test"}), .days = 900});
  EXPECT_THAT(issued.warnings, Contains(HasSubstr("the CA expires on")));
  EXPECT_THAT(issued.warnings, Contains(HasSubstr("Apple")));
  EXPECT_THAT(issued.warnings, Contains(HasSubstr("*.test: browsers refuse")));
  EXPECT_EQ(describe(issued.cert.get()).not_after, ca.not_after());
  EXPECT_THROW((void)ca.issue({.names = parse_names({"a.test"}), .days = 0}), Failure);
  EXPECT_THROW((void)ca.issue({}), Failure);
}

TEST(Ca, SavesAndLoadsAFolder) {
  TempDir tmp;
  auto dir = tmp.path() / "nested" / "ca";
  auto ca = Ca::create({.name = "Saved"});
  ca.save(dir);
  EXPECT_EQ(mode_of(dir / kCaKeyFile), 0600u);
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_FALSE(std::filesystem::exists(dir / kCaChainFile));
  auto loaded = Ca::load(dir);
  EXPECT_EQ(loaded.name(), "Saved");
  EXPECT_EQ(X509_cmp(loaded.cert(), ca.cert()), 0);
  EXPECT_TRUE(loaded.warnings().empty());
  auto issued = loaded.issue({.names = parse_names({"x.test"})});
  EXPECT_EQ(verify(issued.cert.get(), ca.cert()), X509_V_OK);
  // Never over an existing CA.
  auto other = Ca::create({});
  EXPECT_THAT(failure_message([&] { (void)other.save(dir); }, Kind::Exists), HasSubstr("a CA already exists in"));
  EXPECT_EQ(X509_cmp(Ca::load(dir).cert(), ca.cert()), 0);
}

TEST(Ca, IntermediateFolderRoundTrip) {
  CaFolders f;
  auto loaded = Ca::load(f.tmp.path() / "sub");
  EXPECT_TRUE(loaded.is_intermediate());
  EXPECT_EQ(X509_cmp(loaded.root(), f.root.cert()), 0);
  std::filesystem::remove(f.tmp.path() / "sub" / kCaChainFile);
  EXPECT_THAT(failure_message([&] { (void)Ca::load(f.tmp.path() / "sub"); }, Kind::CaFile),
              HasSubstr("chain.pem (its issuers, up to the root) is missing"));
}

void expect_load_failure(const std::filesystem::path& dir, const std::string& part) {
  EXPECT_THAT(failure_message([&] { (void)Ca::load(dir); }, Kind::CaFile), HasSubstr(part));
}

TEST(Ca, LoadNamesWhatIsWrong) {
  TempDir tmp;
  auto dir = tmp.path() / "ca";
  expect_load_failure(dir, "the directory does not exist");
  std::filesystem::create_directories(dir);
  expect_load_failure(dir, "ca.pem is missing");
  write_file_atomic(dir / kCaCertFile, "garbage");
  expect_load_failure(dir, "ca.pem: not a certificate");
  auto ca = Ca::create({});
  write_file_atomic(dir / kCaCertFile, ossl::to_pem(ca.cert()));
  expect_load_failure(dir, "ca-key.pem is missing");
  write_file_atomic(dir / kCaKeyFile, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0600);
  expect_load_failure(dir, "ca-key.pem: not a private key");
  auto other = generate_key(KeyKind::EcP256);
  write_file_atomic(dir / kCaKeyFile, ossl::private_key_to_pem(other.get()), 0600);
  expect_load_failure(dir, "does not belong to");
  auto leaf = ca.issue({.names = parse_names({"a.test"})});
  write_file_atomic(dir / kCaCertFile, leaf.cert_pem());
  write_file_atomic(dir / kCaKeyFile, leaf.key_pem(), 0600);
  expect_load_failure(dir, "is not a CA certificate");
  write_file_atomic(dir / kCaCertFile, ossl::to_pem(ca.cert()) + ossl::to_pem(ca.cert()));
  expect_load_failure(dir, "holds 2 certificates");
}

TEST(Ca, LoadWarnsAboutAReadableKey) {
  TempDir tmp;
  auto ca = Ca::create({});
  ca.save(tmp.path() / "ca");
  std::filesystem::permissions(tmp.path() / "ca" / kCaKeyFile, std::filesystem::perms::owner_read |
                                                                   std::filesystem::perms::owner_write |
                                                                   std::filesystem::perms::others_read);
  EXPECT_THAT(Ca::load(tmp.path() / "ca").warnings(), ElementsAre(HasSubstr("can be read by other users (mode 0604)")));
}

TEST(Ca, DefaultDirectoryFollowsXdg) {
  EXPECT_EQ(ca_dir_from("/x/ca", "/data", "/home/u"), "/x/ca");
  EXPECT_EQ(ca_dir_from(nullptr, "/data", "/home/u"), "/data/tlslab/ca");
  EXPECT_EQ(ca_dir_from("", "relative", "/home/u"), "/home/u/.local/share/tlslab/ca");
  EXPECT_THROW((void)ca_dir_from(nullptr, nullptr, nullptr), Failure);
  EXPECT_THAT(default_ca_name(), HasSubstr("tlslab development CA"));
}

TEST(LeafFiles, NamesLikeMkcert) {
  auto names = parse_names({"*.bank32.com", "bank32.com", "::1"});
  EXPECT_EQ(leaf_file_stem(names, false), "_wildcard.bank32.com+2");
  EXPECT_EQ(leaf_file_stem(parse_names({"::1"}), true), "__1-client");
  auto paths = leaf_paths("", parse_names({"www.bank32.com", "a.b", "c.d"}), false, true, true);
  EXPECT_EQ(paths.cert, "www.bank32.com+2.pem");
  EXPECT_EQ(paths.key, "www.bank32.com+2-key.pem");
  EXPECT_EQ(paths.chain, "www.bank32.com+2-chain.pem");
  EXPECT_EQ(leaf_paths("out/srv", names, false, false, false).cert, "out/srv.pem");
  EXPECT_TRUE(leaf_paths("out/srv", names, false, false, false).key.empty());
  EXPECT_EQ(leaf_paths("dir/", parse_names({"a.test"}), false, true, false).key, "dir/a.test-key.pem");
}

TEST(LeafFiles, WritesAllOrNothing) {
  TempDir tmp;
  auto ca = Ca::create({});
  auto issued = ca.issue({.names = parse_names({"a.test"})});
  auto paths = leaf_paths((tmp.path() / "a").string(), {}, false, true, false);
  write_leaf(issued, paths);
  EXPECT_EQ(mode_of(paths.key), 0600u);
  EXPECT_EQ(mode_of(paths.cert), 0644u);
  auto bad = leaf_paths((tmp.path() / "missing" / "a").string(), {}, false, true, false);
  EXPECT_THAT(failure_message([&] { (void)write_leaf(issued, bad); }, Kind::Write), HasSubstr("missing/a-key.pem"));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "missing"));
}

}  // namespace
}  // namespace tlslab::pki
