#include "tls/session_cache.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>

namespace tlslab::tls {
namespace {

// A resumable session (one with an ID), as OpenSSL would hand it to the new-session callback.
ossl::Ptr<SSL_SESSION> session(unsigned char tag) {
  ossl::Ptr<SSL_SESSION> s(SSL_SESSION_new());
  unsigned char id[32] = {tag};
  SSL_SESSION_set1_id(s.get(), id, sizeof id);
  SSL_SESSION_set_protocol_version(s.get(), TLS1_3_VERSION);
  return s;
}

struct Fixture {
  ossl::Ptr<SSL_CTX> ctx{SSL_CTX_new(TLS_client_method())};
  SessionCache cache;
  explicit Fixture(std::size_t capacity) : cache(capacity) { cache.install(ctx.get()); }

  // arrive makes OpenSSL's callback deliver a session for key, as after a handshake.
  void arrive(const std::string& key, unsigned char tag) {
    ossl::Ptr<SSL> ssl(SSL_new(ctx.get()));
    cache.prepare(ssl.get(), key);
    auto s = session(tag);
    if (SSL_CTX_sess_get_new_cb(ctx.get())(ssl.get(), s.get()) == 1) (void)s.release();
  }
  // offered returns the ID's first byte of the session prepare() set for key, or -1.
  int offered(const std::string& key) {
    ossl::Ptr<SSL> ssl(SSL_new(ctx.get()));
    if (!cache.prepare(ssl.get(), key)) return -1;
    unsigned len = 0;
    const unsigned char* id = SSL_SESSION_get_id(SSL_get0_session(ssl.get()), &len);
    return len ? id[0] : -2;
  }
};

TEST(SessionCache, OffersTheLastSessionOfEachKey) {
  Fixture f(10);
  EXPECT_EQ(f.offered("a"), -1);
  f.arrive("a", 1);
  f.arrive("b", 2);
  f.arrive("a", 3);  // a newer ticket replaces the older one
  EXPECT_EQ(f.offered("a"), 3);
  EXPECT_EQ(f.offered("b"), 2);
  EXPECT_EQ(f.cache.size(), 2u);
  f.cache.forget("a");
  EXPECT_EQ(f.offered("a"), -1);
}

TEST(SessionCache, DropsTheOldestKeyBeyondCapacity) {
  Fixture f(2);
  f.arrive("a", 1);
  f.arrive("b", 2);
  f.arrive("a", 4);  // a is now the newest
  f.arrive("c", 3);
  EXPECT_EQ(f.cache.size(), 2u);
  EXPECT_EQ(f.offered("b"), -1);
  EXPECT_EQ(f.offered("a"), 4);
  EXPECT_EQ(f.offered("c"), 3);
}

TEST(SessionCache, OffersACopyThatAConnectionCannotSpoil) {
  // OpenSSL marks a session not resumable when a connection using it ends badly; the cached one
  // must stay usable.
  Fixture f(4);
  f.arrive("a", 7);
  {
    ossl::Ptr<SSL> ssl(SSL_new(f.ctx.get()));
    ASSERT_TRUE(f.cache.prepare(ssl.get(), "a"));
    SSL_SESSION* used = SSL_get0_session(ssl.get());
    ASSERT_NE(used, nullptr);
    SSL_CTX_remove_session(f.ctx.get(), used);  // what OpenSSL does to it after a bad end: not resumable
  }
  EXPECT_EQ(f.offered("a"), 7);
}

}  // namespace
}  // namespace tlslab::tls
