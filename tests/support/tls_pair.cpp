#include "support/tls_pair.hpp"

#include <openssl/err.h>

#include <memory>
#include <stdexcept>

#include "ossl/error.hpp"

namespace tlslab::testing {
namespace {

void record(int write_p, int version, int content_type, const void* buf, size_t len, SSL* /*ssl*/, void* arg) {
  auto* log = static_cast<std::vector<RecordedMessage>*>(arg);
  log->push_back({write_p != 0, version, content_type, std::string(static_cast<const char*>(buf), len)});
}

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("tls pair: ") + what + ": " + ossl::drain_errors());
}

template <class T>
T* need(T* p, const char* what) {
  check(p != nullptr, what);
  return p;
}

// make_ctx builds one side's context with its setup applied.
void make_ctx(const SSL_METHOD* method, const PeerSetup& setup, ossl::Ptr<SSL_CTX>& ctx) {
  ctx.reset(need(SSL_CTX_new(method), "SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (setup.ctx) setup.ctx(ctx.get());
}

// make_ssl builds one side's connection on ctx, recording its messages in log.
void make_ssl(SSL_CTX* ctx, const std::function<void(SSL*)>& setup, std::vector<RecordedMessage>& log,
              ossl::Ptr<SSL>& ssl) {
  ssl.reset(need(SSL_new(ctx), "SSL_new"));
  SSL_set_msg_callback(ssl.get(), record);
  SSL_set_msg_callback_arg(ssl.get(), &log);
  if (setup) setup(ssl.get());
}

// step runs one handshake step on ssl; returns false (and sets error) when it failed.
bool step(SSL* ssl, const char* side, std::string& error) {
  if (SSL_is_init_finished(ssl)) return true;
  int rc = SSL_do_handshake(ssl);
  if (rc == 1) return true;
  int code = SSL_get_error(ssl, rc);
  if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return true;
  error = std::string(side) + " handshake failed (SSL_get_error " + std::to_string(code) + "): " + ossl::drain_errors();
  return false;
}

}  // namespace

PeerSetup server_with(const Issued& cert) {
  // The callback holds its own references, so the setup may outlive `cert`.
  std::shared_ptr<X509> x = ossl::up_ref(cert.cert.get());
  std::shared_ptr<EVP_PKEY> key = ossl::up_ref(cert.key.get());
  return {.ctx = [x, key](SSL_CTX* ctx) {
    check(SSL_CTX_use_certificate(ctx, x.get()) == 1, "SSL_CTX_use_certificate");
    check(SSL_CTX_use_PrivateKey(ctx, key.get()) == 1, "SSL_CTX_use_PrivateKey");
  }};
}

TlsPair::TlsPair(const PeerSetup& client, const PeerSetup& server) { connect(client, &server); }

TlsPair::TlsPair(const PeerSetup& client, SSL_CTX* server_ctx) {
  check(SSL_CTX_up_ref(server_ctx) == 1, "SSL_CTX_up_ref");
  server_ctx_.reset(server_ctx);
  connect(client, nullptr);
}

void TlsPair::connect(const PeerSetup& client, const PeerSetup* server) {
  make_ctx(TLS_client_method(), client, client_ctx_);
  make_ssl(client_ctx_.get(), client.ssl, client_log_, client_);
  if (server) make_ctx(TLS_server_method(), *server, server_ctx_);
  make_ssl(server_ctx_.get(), server ? server->ssl : nullptr, server_log_, server_);
  BIO* client_end = nullptr;
  BIO* server_end = nullptr;
  check(BIO_new_bio_pair(&client_end, 0, &server_end, 0) == 1, "BIO_new_bio_pair");
  SSL_set_bio(client_.get(), client_end, client_end);  // each SSL now owns its end
  SSL_set_bio(server_.get(), server_end, server_end);
  SSL_set_connect_state(client_.get());
  SSL_set_accept_state(server_.get());
}

TlsPair::~TlsPair() = default;

bool TlsPair::handshake() {
  // A full handshake takes at most a few flights each way; the bound only stops a stuck pair.
  for (int round = 0; round < 32; ++round) {
    bool client_ok = step(client_.get(), "client", error_);
    bool server_ok = client_ok && step(server_.get(), "server", error_);
    if (!client_ok || !server_ok) {
      // Let the other side read the alert the failing side sent, so both logs show it.
      std::string ignored;
      step(client_ok ? client_.get() : server_.get(), "peer", ignored);
      ERR_clear_error();
      return false;
    }
    if (SSL_is_init_finished(client_.get()) && SSL_is_init_finished(server_.get())) {
      for (int i = 0; i < 8 && pump(); ++i) {
      }
      return true;
    }
  }
  error_ = "handshake made no progress";
  return false;
}

bool TlsPair::shutdown() {
  SSL_shutdown(client_.get());                   // sends the client's close_notify
  SSL_shutdown(server_.get());                   // reads it, sends the server's
  bool done = SSL_shutdown(client_.get()) == 1;  // reads the server's
  done = SSL_shutdown(server_.get()) == 1 && done;
  ERR_clear_error();
  return done;
}

bool TlsPair::pump() {
  auto before = client_log_.size() + server_log_.size();
  for (SSL* ssl : {client_.get(), server_.get()}) {
    char byte = 0;
    SSL_peek(ssl, &byte, 1);  // processes post-handshake records, leaves application data in place
  }
  ERR_clear_error();
  return client_log_.size() + server_log_.size() != before;
}

}  // namespace tlslab::testing
