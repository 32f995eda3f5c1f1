#include "tls/session_cache.hpp"

#include <openssl/ssl.h>

namespace tlslab::tls {
namespace {

void free_key(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<std::string*>(ptr); }

int key_index() {  // SSL ex_data: the destination key of a connection
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_key);
  return index;
}

int cache_index() {  // SSL_CTX ex_data: the cache a context feeds
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

void SessionCache::install(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, cache_index(), this);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
}

bool SessionCache::prepare(SSL* ssl, const std::string& key) {
  delete static_cast<std::string*>(SSL_get_ex_data(ssl, key_index()));
  SSL_set_ex_data(ssl, key_index(), new std::string(key));
  ossl::Ptr<SSL_SESSION> session;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    session = ossl::up_ref(it->second.session.get());
  }
  // A copy: OpenSSL marks a session it shares not resumable when a connection using it ends
  // without a TLS shutdown (as an intercepted connection cut by either side does).
  ossl::Ptr<SSL_SESSION> copy(SSL_SESSION_dup(session.get()));
  return copy && SSL_set_session(ssl, copy.get()) == 1;
}

void SessionCache::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  order_.erase(it->second.position);
  entries_.erase(it);
}

std::size_t SessionCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

int SessionCache::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* cache = static_cast<SessionCache*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cache_index()));
  auto* key = static_cast<std::string*>(SSL_get_ex_data(ssl, key_index()));
  if (!cache || !key || !SSL_SESSION_is_resumable(session)) return 0;
  if (SSL_SESSION* copy = SSL_SESSION_dup(session)) cache->store(*key, copy);  // (why a copy: see prepare)
  return 0;                                                                    // OpenSSL keeps its reference
}

void SessionCache::store(const std::string& key, SSL_SESSION* session) {  // takes the reference
  ossl::Ptr<SSL_SESSION> owned(session);
  ossl::Ptr<SSL_SESSION> old;  // freed outside the lock
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    old = std::move(it->second.session);
    it->second.session = std::move(owned);
    order_.splice(order_.begin(), order_, it->second.position);
    return;
  }
  order_.push_front(key);
  entries_.emplace(key, Entry{std::move(owned), order_.begin()});
  while (entries_.size() > capacity_) {
    entries_.erase(order_.back());
    order_.pop_back();
  }
}

}  // namespace tlslab::tls
