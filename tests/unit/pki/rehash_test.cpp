#include "pki/rehash.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "base/files.hpp"
#include "ossl/pem.hpp"
#include "support/cert_factory.hpp"
#include "support/failure.hpp"
#include "support/temp_dir.hpp"

namespace tlslab::pki {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tlslab::testing::CertSpec;
using tlslab::testing::failure_message;
using tlslab::testing::issue;
using tlslab::testing::TempDir;

// links returns dir's symlinks as name -> target.
std::map<std::string, std::string> links(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_symlink()) out[e.path().filename().string()] = fs::read_symlink(e.path()).string();
  return out;
}

void write_cert(const fs::path& path, const CertSpec& spec) {
  auto c = issue(spec);
  write_file_atomic(path, ossl::to_pem(c.cert.get()));
}

class Rehash : public ::testing::Test {
 protected:
  void SetUp() override {
    // Two roots with the same subject (a hash collision, as after a CA is remade) and a third.
    write_cert(dir() / "a.pem", {.common_name = "Same", .ca = true});
    write_cert(dir() / "b.crt", {.common_name = "Same", .ca = true});
    write_cert(dir() / "c.cer", {.common_name = "Other", .ca = true});
  }
  [[nodiscard]] fs::path dir() const { return tmp.path(); }
  TempDir tmp;
};

TEST_F(Rehash, NumbersCollisionsAndIsIdempotent) {
  auto report = rehash(dir());
  ASSERT_EQ(report.links.size(), 3u);
  auto l = links(dir());
  ASSERT_EQ(l.size(), 3u);
  auto same = subject_hash(ossl::parse_certificates(read_file(dir() / "a.pem", "", Kind::Input), "a")[0].get());
  EXPECT_EQ(l[same + ".0"], "a.pem");
  EXPECT_EQ(l[same + ".1"], "b.crt");
  for (const auto& link : report.links) EXPECT_EQ(link.action, LinkAction::Created);
  auto again = rehash(dir());
  EXPECT_EQ(links(dir()), l);
  for (const auto& link : again.links) EXPECT_EQ(link.action, LinkAction::Kept) << link.link;
  EXPECT_TRUE(again.removed.empty());
}

TEST_F(Rehash, RemovesStaleLinksAndClosesGaps) {
  (void)rehash(dir());
  auto same = subject_hash(ossl::parse_certificates(read_file(dir() / "a.pem", "", Kind::Input), "a")[0].get());
  fs::remove(dir() / "a.pem");
  fs::create_symlink("gone.pem", dir() / "0badf00d.0");
  auto report = rehash(dir());
  auto l = links(dir());
  EXPECT_EQ(l[same + ".0"], "b.crt");  // no gap: lookups stop at the first missing number
  EXPECT_EQ(l.count(same + ".1"), 0u);
  EXPECT_EQ(l.count("0badf00d.0"), 0u);
  EXPECT_EQ(report.removed.size(), 2u);
}

TEST_F(Rehash, SkipsWhatACapathCannotUse) {
  auto c = issue({.common_name = "Der", .ca = true});
  write_file_atomic(dir() / "der.cer", ossl::to_der(c.cert.get()));
  write_file_atomic(dir() / "bundle.pem", ossl::to_pem(c.cert.get()) + ossl::to_pem(c.cert.get()));
  fs::copy_file(dir() / "a.pem", dir() / "copy-of-a.pem");
  write_file_atomic(dir() / "notes.txt", "not considered");
  write_file_atomic(dir() / "empty.pem", "");
  auto report = rehash(dir());
  std::map<std::string, std::string> skipped;
  for (const auto& s : report.skipped) skipped[s.file] = s.reason;
  EXPECT_THAT(skipped["der.cer"], HasSubstr("is DER"));
  EXPECT_THAT(skipped["bundle.pem"], HasSubstr("holds 2 certificates"));
  EXPECT_THAT(skipped["copy-of-a.pem"], HasSubstr("the same certificate as a.pem"));
  EXPECT_THAT(skipped["empty.pem"], HasSubstr("no PEM certificate"));
  EXPECT_EQ(skipped.count("notes.txt"), 0u);
  EXPECT_EQ(links(dir()).size(), 3u);
}

TEST_F(Rehash, MatchesOpensslRehash) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl CLI not installed";
  TempDir theirs;
  for (const auto& e : fs::directory_iterator(dir())) fs::copy_file(e.path(), theirs.path() / e.path().filename());
  // A leftover link that both must remove.
  fs::create_symlink("gone.pem", dir() / "12345678.0");
  fs::create_symlink("gone.pem", theirs.path() / "12345678.0");
  (void)rehash(dir());
  auto cmd = "openssl rehash " + theirs.path().string() + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(links(dir()), links(theirs.path()));
}

TEST(RehashErrors, NamesTheDirectory) {
  EXPECT_EQ(failure_message([&] { (void)rehash("/nonexistent/capath"); }, Kind::CaFile),
            "cannot rehash /nonexistent/capath: no such directory");
}

}  // namespace
}  // namespace tlslab::pki
