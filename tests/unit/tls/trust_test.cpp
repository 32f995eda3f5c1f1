#include "tls/trust.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <cstdio>

#include "support/cert_factory.hpp"
#include "support/temp_dir.hpp"

namespace tlslab::tls {
namespace {

using tlslab::testing::CertSpec;
using tlslab::testing::issue;
using tlslab::testing::TempDir;

// write_pem writes a fresh CA certificate to path.
void write_pem(const std::filesystem::path& path) {
  auto ca = issue(CertSpec{.common_name = "tlslab test CA", .ca = true});
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(PEM_write_X509(f, ca.cert.get()), 1);
  std::fclose(f);
}

TEST(TrustStoreKind, NamesEachKindAsTheJsonDoes) {
  EXPECT_EQ(to_string(TrustStoreKind::System), "system");
  EXPECT_EQ(to_string(TrustStoreKind::File), "file");
  EXPECT_EQ(to_string(TrustStoreKind::Directory), "directory");
}

TEST(DescribeTrust, ACaFileIsAFileStore) {
  TempDir dir;
  write_pem(dir.path() / "ca.pem");
  auto info = describe_trust((dir.path() / "ca.pem").string(), std::nullopt);
  EXPECT_EQ(info.kind, TrustStoreKind::File);
  EXPECT_EQ(info.path, (dir.path() / "ca.pem").string());
  EXPECT_EQ(info.anchors, 1u);
  EXPECT_FALSE(info.lazy);
}

TEST(DescribeTrust, AHashedDirectoryIsADirectoryStore) {
  TempDir dir;
  write_pem(dir.path() / "1a2b3c4d.0");
  auto info = describe_trust(std::nullopt, dir.path().string());
  EXPECT_EQ(info.kind, TrustStoreKind::Directory);
  EXPECT_EQ(info.anchors, 1u);
  EXPECT_TRUE(info.lazy);
}

TEST(DescribeTrust, NeitherIsTheSystemStore) {
  TrustStoreInfo info;
  try {
    info = describe_trust(std::nullopt, std::nullopt);
  } catch (const Failure& f) {
    GTEST_SKIP() << "no system store here: " << f.what();
  }
  EXPECT_EQ(info.kind, TrustStoreKind::System);
  EXPECT_TRUE(info.lazy);
}

}  // namespace
}  // namespace tlslab::tls
