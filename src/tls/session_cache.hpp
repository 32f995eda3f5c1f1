// tls::SessionCache — client sessions kept per destination, so the next connection to the same
// server resumes (TLS 1.3 PSK or a TLS 1.2 ticket/ID) instead of paying a full handshake.
//
// install() sets the context's new-session callback; prepare() tags one SSL with its destination
// key ("host:port/sni") and offers the session last stored for that key. With TLS 1.3 the server's
// tickets arrive after the handshake, while the connection is in use; each new one replaces the
// last. Bounded (oldest key dropped first); thread-safe. The context must outlive the cache's use.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ossl/ptr.hpp"

namespace tlslab::tls {

class SessionCache {
 public:
  explicit SessionCache(std::size_t capacity = 1000) : capacity_(capacity) {}

  // install makes ctx hand its new client sessions to this cache (and keeps none itself).
  void install(SSL_CTX* ctx);
  // prepare tags ssl with key and sets the cached session for it, if any; returns whether it did.
  bool prepare(SSL* ssl, const std::string& key);
  // forget drops key's session (after a failed handshake with it, say).
  void forget(const std::string& key);
  [[nodiscard]] std::size_t size() const;

 private:
  static int on_new_session(SSL* ssl, SSL_SESSION* session);
  void store(const std::string& key, SSL_SESSION* session);

  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<std::string> order_;  // front = newest key
  struct Entry {
    ossl::Ptr<SSL_SESSION> session;
    std::list<std::string>::iterator position;
  };
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace tlslab::tls
