#include "proxy/forge.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "ossl/pem.hpp"
#include "pki/ca.hpp"
#include "pki/keys.hpp"
#include "proxy/forge_store.hpp"
#include "proxy/policy.hpp"
#include "support/cert_factory.hpp"
#include "support/failure.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_pair.hpp"

namespace tlslab::proxy {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kNames = {"www.bank32.com", "bank32.com"};

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

void write(const fs::path& path, const std::string& data) { std::ofstream(path, std::ios::binary) << data; }

// A Forger over one cache folder, with the lines it notes.
struct Cached {
  std::mutex mutex;
  std::vector<std::string> notes;
  Forger forger;
  Cached(const pki::Ca& ca, const fs::path& dir, std::size_t capacity = 1000)
      : forger(ca, ForgeOptions{.capacity = capacity, .cache_dir = dir, .note = [this](const std::string& line) {
                                  std::lock_guard lock(mutex);
                                  notes.push_back(line);
                                }}) {}
};

class ForgeCache : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  fs::path dir = tmp.path() / "cache";
  pki::Ca ca = pki::Ca::create({.name = "Forge Test CA"});
};

TEST(Forger, WithoutAFolderKeepsForgeriesInMemoryOnly) {
  auto ca = pki::Ca::create({.name = "Forge Test CA"});
  Forger forger(ca, {});
  auto first = forger.forge(kNames, "EC");
  EXPECT_EQ(first.source, ForgeSource::Minted);
  EXPECT_TRUE(first.forged->file.empty());
  EXPECT_THAT(first.forged->names, ElementsAre("www.bank32.com", "bank32.com"));
  auto again = forger.forge({"BANK32.com", "www.bank32.com"}, "EC");  // the same name set
  EXPECT_EQ(again.source, ForgeSource::Memory);
  EXPECT_EQ(again.forged, first.forged);
  EXPECT_EQ(forger.forge(kNames, "RSA").forged->info.key_type, "RSA");
  EXPECT_EQ(forger.stats().misses, 2u);
  EXPECT_EQ(forger.stats().hits, 1u);
}

TEST_F(ForgeCache, PersistsCertificatesAndKeysForTheNextRun) {
  std::string serial, file;
  {
    Cached run(ca, dir);
    EXPECT_EQ(mode_of(dir), 0700u);  // created private: it holds keys
    EXPECT_EQ(mode_of(dir / "ec-key.pem"), 0600u);
    auto minted = run.forger.forge(kNames, "EC");
    EXPECT_EQ(minted.source, ForgeSource::Minted);
    serial = minted.forged->info.serial_hex;
    file = minted.forged->file;
    EXPECT_EQ(fs::path(file).parent_path(), dir);
    EXPECT_TRUE(fs::exists(file));
    EXPECT_EQ(run.forger.forge(kNames, "EC").source, ForgeSource::Memory);
    EXPECT_THAT(provenance(minted), HasSubstr("minted in "));
    EXPECT_THAT(provenance(minted), HasSubstr("stored as " + file));
  }
  Cached next(ca, dir);
  auto loaded = next.forger.forge({"bank32.com", "WWW.bank32.com"}, "EC");
  EXPECT_EQ(loaded.source, ForgeSource::Disk);
  EXPECT_EQ(loaded.forged->info.serial_hex, serial);  // the very same certificate
  EXPECT_EQ(loaded.forged->file, file);
  EXPECT_THAT(provenance(loaded), HasSubstr("loaded from " + file));
  EXPECT_EQ(next.forger.stats().loaded, 1u);
  EXPECT_EQ(next.forger.stats().misses, 0u);
  EXPECT_TRUE(next.notes.empty()) << next.notes.front();
  EXPECT_THAT(provenance(next.forger.forge(kNames, "EC")), HasSubstr("from memory, first loaded from"));
}

TEST_F(ForgeCache, RsaForgeriesGetTheirOwnKeptKey) {
  std::string serial;
  {
    Cached run(ca, dir);
    EXPECT_FALSE(fs::exists(dir / "rsa-key.pem"));  // made only when an RSA server is met
    auto minted = run.forger.forge(kNames, "RSA");
    EXPECT_EQ(minted.forged->info.key_type, "RSA");
    EXPECT_EQ(mode_of(dir / "rsa-key.pem"), 0600u);
    serial = minted.forged->info.serial_hex;
  }
  Cached next(ca, dir);
  auto loaded = next.forger.forge(kNames, "RSA");
  EXPECT_EQ(loaded.source, ForgeSource::Disk);
  EXPECT_EQ(loaded.forged->info.serial_hex, serial);
  EXPECT_EQ(next.forger.forge(kNames, "EC").source, ForgeSource::Minted);  // another key type, another file
}

TEST_F(ForgeCache, ANewCaWithTheSameNameGetsNoStaleForgeries) {
  std::string serial;
  {
    Cached run(ca, dir);
    serial = run.forger.forge(kNames, "EC").forged->info.serial_hex;
  }
  // `tlslab ca init` again: the same subject, another key. The issuer name still matches.
  auto again = pki::Ca::create({.name = "Forge Test CA"});
  Cached next(again, dir);
  auto forging = next.forger.forge(kNames, "EC");
  EXPECT_EQ(forging.source, ForgeSource::Minted);
  EXPECT_NE(forging.forged->info.serial_hex, serial);
  ASSERT_EQ(next.notes.size(), 1u);
  EXPECT_THAT(next.notes[0], HasSubstr(forging.forged->file));
  EXPECT_THAT(next.notes[0],
              HasSubstr("it was signed by another key than the CA Forge Test CA's (was the CA made again?)"));
  // What was minted replaced the stale file.
  Cached third(again, dir);
  EXPECT_EQ(third.forger.forge(kNames, "EC").forged->info.serial_hex, forging.forged->info.serial_hex);
  // And a CA by another name is told apart by the issuer name alone.
  auto other = pki::Ca::create({.name = "Another CA"});
  Cached fourth(other, dir);
  EXPECT_EQ(fourth.forger.forge(kNames, "EC").source, ForgeSource::Minted);
  ASSERT_EQ(fourth.notes.size(), 1u);
  EXPECT_THAT(fourth.notes[0], HasSubstr("it was issued by O=tlslab, CN=Forge Test CA, not by the CA Another CA"));
}

TEST_F(ForgeCache, CorruptAndForeignFilesAreIgnoredAndReplaced) {
  std::string file;
  {
    Cached run(ca, dir);
    file = run.forger.forge(kNames, "EC").forged->file;
  }
  write(file, "not a certificate\n");
  {
    Cached next(ca, dir);
    auto forging = next.forger.forge(kNames, "EC");
    EXPECT_EQ(forging.source, ForgeSource::Minted);
    ASSERT_EQ(next.notes.size(), 1u);
    EXPECT_THAT(next.notes[0], HasSubstr("ignoring " + file));
    EXPECT_THAT(next.notes[0], HasSubstr("not a certificate"));
  }
  // A certificate that is whole but someone else's.
  auto foreign = testing::issue({.common_name = "www.bank32.com", .dns = kNames});
  write(file, ossl::to_pem(foreign.cert.get()));
  {
    Cached next(ca, dir);
    EXPECT_EQ(next.forger.forge(kNames, "EC").source, ForgeSource::Minted);
    ASSERT_EQ(next.notes.size(), 1u);
    EXPECT_THAT(next.notes[0], HasSubstr("CN=www.bank32.com, not by the CA Forge Test CA"));
  }
  Cached last(ca, dir);
  EXPECT_EQ(last.forger.forge(kNames, "EC").source, ForgeSource::Disk);
  EXPECT_TRUE(last.notes.empty());
}

TEST_F(ForgeCache, AReplacedKeyMakesStoredCertificatesUseless) {
  {
    Cached run(ca, dir);
    (void)run.forger.forge(kNames, "EC");
  }
  pki::write_private_key(dir / "ec-key.pem", pki::generate_key(pki::KeyKind::EcP256).get());
  Cached next(ca, dir);
  EXPECT_EQ(next.forger.forge(kNames, "EC").source, ForgeSource::Minted);
  ASSERT_EQ(next.notes.size(), 1u);
  EXPECT_THAT(next.notes[0], HasSubstr("it certifies another key than the forged certificates' key"));
}

TEST_F(ForgeCache, ACorruptOrWrongKeyIsReplacedWithANote) {
  fs::create_directory(dir);
  write(dir / "ec-key.pem", "garbage");
  {
    Cached run(ca, dir);
    ASSERT_EQ(run.notes.size(), 1u);
    EXPECT_THAT(run.notes[0], HasSubstr((dir / "ec-key.pem").string()));
    EXPECT_THAT(run.notes[0], HasSubstr("replacing it with a new key"));
    EXPECT_EQ(mode_of(dir / "ec-key.pem"), 0600u);
    EXPECT_EQ(run.forger.forge(kNames, "EC").source, ForgeSource::Minted);
  }
  pki::write_private_key(dir / "ec-key.pem", pki::generate_key(pki::KeyKind::EcP384).get());
  Cached next(ca, dir);
  ASSERT_EQ(next.notes.size(), 1u);
  EXPECT_THAT(next.notes[0], HasSubstr("an EC P-384 key, not ec-p256"));
  EXPECT_EQ(next.forger.forge(kNames, "EC").forged->info.key_curve, "P-256");
}

TEST_F(ForgeCache, AFolderThatCannotBeUsedIsAClearError) {
  write(tmp.path() / "file", "x");
  for (auto bad : {tmp.path() / "file", tmp.path() / "file" / "sub"}) {
    auto message = testing::failure_message([&] { Forger forger(ca, {.cache_dir = bad}); }, Kind::Write);
    EXPECT_THAT(message, HasSubstr("--cert-cache " + bad.string()));
    EXPECT_THAT(message, HasSubstr("cannot keep forged certificates there"));
  }
  EXPECT_THAT(testing::failure_message([&] { Forger forger(ca, {.cache_dir = tmp.path() / "file"}); }, Kind::Write),
              HasSubstr("it exists and is not a directory"));
  // Missing parents are made.
  Forger deep(ca, {.cache_dir = tmp.path() / "a" / "b"});
  EXPECT_TRUE(fs::exists(tmp.path() / "a" / "b" / "ec-key.pem"));
}

TEST_F(ForgeCache, AnEvictedForgeryComesBackFromDisk) {
  Cached run(ca, dir, /*capacity=*/1);
  auto first = run.forger.forge(kNames, "EC");
  (void)run.forger.forge({"other.test"}, "EC");  // evicts the first from memory
  auto back = run.forger.forge(kNames, "EC");
  EXPECT_EQ(back.source, ForgeSource::Disk);
  EXPECT_EQ(back.forged->info.serial_hex, first.forged->info.serial_hex);
}

TEST_F(ForgeCache, ManyThreadsShareOneFolder) {
  Cached run(ca, dir, /*capacity=*/4);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto forging = run.forger.forge({fmt::format("h{}.test", (i + t) % 8)}, i % 5 ? "EC" : "RSA");
        if (!forging.forged || !forging.forged->ctx) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(run.notes.empty()) << run.notes.front();
  // A second proxy on the same folder finds every one of them usable.
  Cached other(ca, dir);
  for (int i = 0; i < 8; ++i) {
    auto name = fmt::format("h{}.test", i);
    EXPECT_EQ(other.forger.forge({name}, "EC").source, ForgeSource::Disk) << name;
  }
  EXPECT_TRUE(other.notes.empty()) << other.notes.front();
}

// why_unusable, on certificates altered and re-signed by the CA itself.
class Unusable : public ForgeCache {
 protected:
  ossl::Ptr<EVP_PKEY> key = pki::generate_key(pki::KeyKind::EcP256);
  std::int64_t now = pki::now_epoch();

  // mint issues for kNames and key as the proxy would; with ends_in, notAfter is moved to now +
  // ends_in seconds and the certificate signed again by the CA.
  ossl::Ptr<X509> mint(std::optional<long> ends_in = {}) {
    pki::LeafRequest request;
    request.names = pki::parse_names(kNames);
    request.public_key = key.get();
    auto cert = std::move(ca.issue(request).cert);
    if (ends_in) {
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, *ends_in, nullptr);
      EXPECT_GT(X509_sign(cert.get(), ca.key(), EVP_sha256()), 0);
    }
    return cert;
  }
};

TEST_F(Unusable, AcceptsAFreshOneAndNamesEachReason) {
  auto good = mint();
  EXPECT_EQ(why_unusable(good.get(), ca, key.get(), {"BANK32.com", "www.bank32.com"}, now), "");
  EXPECT_THAT(why_unusable(good.get(), ca, key.get(), {"www.bank32.com"}, now),
              HasSubstr("it carries the names [www.bank32.com, bank32.com], not [www.bank32.com]"));
  auto other_key = pki::generate_key(pki::KeyKind::EcP256);
  EXPECT_THAT(why_unusable(good.get(), ca, other_key.get(), kNames, now), HasSubstr("another key"));
  EXPECT_THAT(why_unusable(mint(-60).get(), ca, key.get(), kNames, now), HasSubstr("it expired on "));
  EXPECT_THAT(why_unusable(mint(10L * 86400).get(), ca, key.get(), kNames, now), HasSubstr("it expires soon, on "));
  EXPECT_THAT(why_unusable(good.get(), ca, key.get(), kNames, now - 2 * 3600), HasSubstr("it is not valid before "));
  // The CA's name and key identifier, but a signature that does not verify.
  auto der = ossl::to_der(good.get());
  der.back() = static_cast<char>(der.back() ^ 1);
  auto tampered = ossl::parse_certificates(der, "tampered");
  ASSERT_EQ(tampered.size(), 1u);
  EXPECT_THAT(why_unusable(tampered[0].get(), ca, key.get(), kNames, now), HasSubstr("signed by another key than"));
}

TEST_F(Unusable, ACertificateEndingWithItsCaIsKeptToTheEnd) {
  // A CA with 20 days left: every leaf it signs ends with it, so minting again would gain nothing.
  ca = pki::Ca::create({.name = "Short CA", .days = 20});
  auto cert = mint();
  EXPECT_EQ(why_unusable(cert.get(), ca, key.get(), kNames, now), "");
  EXPECT_THAT(why_unusable(cert.get(), ca, key.get(), kNames, now + 21L * 86400), HasSubstr("it expired on "));
}

}  // namespace
}  // namespace tlslab::proxy

namespace tlslab::proxy {
namespace {

// An RSA-issued forgery: the leaf is signed by an RSA issuer under the CA (with RSA-PSS when asked),
// the chain verifies up to the CA, and a client offering RSA-PSS alone completes a handshake.
TEST(Forger, RsaIssuerChainsUpToTheCa) {
  auto ca = pki::Ca::create({.name = "Forge Test CA"});
  Forger forger(ca, {});
  EXPECT_EQ(forger.ca_signature_scheme(), 0x0403);
  auto pss = forger.forge(kNames, "RSA", ForgeIssuer::RsaPss);
  auto pkcs1 = forger.forge(kNames, "RSA", ForgeIssuer::RsaPkcs1);
  auto plain = forger.forge(kNames, "RSA");
  EXPECT_NE(pss.forged, pkcs1.forged);
  EXPECT_NE(pss.forged, plain.forged);
  for (const auto& [forging, nid] : {std::pair{&pss, NID_rsassaPss}, std::pair{&pkcs1, NID_sha256WithRSAEncryption},
                                     std::pair{&plain, NID_ecdsa_with_SHA256}}) {
    SSL_CTX* ctx = forging->forged->ctx.get();
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    EXPECT_EQ(X509_get_signature_nid(leaf), nid);
    STACK_OF(X509)* chain = nullptr;
    ASSERT_EQ(SSL_CTX_get0_chain_certs(ctx, &chain), 1);
    ossl::Ptr<X509_STORE> store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), ca.cert());
    ossl::Ptr<X509_STORE_CTX> verify(X509_STORE_CTX_new());
    X509_STORE_CTX_init(verify.get(), store.get(), leaf, chain);
    EXPECT_EQ(X509_verify_cert(verify.get()), 1)
        << X509_verify_cert_error_string(X509_STORE_CTX_get_error(verify.get()));
  }
  testing::TlsPair pair({.ctx =
                             [&](SSL_CTX* c) {
                               SSL_CTX_set1_sigalgs_list(c, "rsa_pss_rsae_sha256");
                               X509_STORE_add_cert(SSL_CTX_get_cert_store(c), ca.cert());
                               SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
                             }},
                        {.ssl = [&](SSL* s) { SSL_set_SSL_CTX(s, pss.forged->ctx.get()); }});
  ASSERT_TRUE(pair.handshake()) << pair.error();
  EXPECT_EQ(SSL_get_verify_result(pair.client()), X509_V_OK);
}

}  // namespace
}  // namespace tlslab::proxy
