// proxy::classify_client_failure — why the client's side of an intercepted connection failed, in
// words a user can act on; and proxy::make_hello_answerer, the OpenSSL server that answers a first
// flight the ClientHello reader could not read.
//
// A failed handshake with the client is classified by OpenSSL's reason code (an alert the client
// sent is SSL_AD_REASON_OFFSET + its number), never by searching the reason's text: a client that
// answers the forged certificate with unknown_ca does not trust the proxy's CA, one whose records
// do not decrypt is a record-layer failure, one with no version or cipher in common is neither.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

#include "ossl/ptr.hpp"

namespace tlslab::proxy {

enum class ClientFailureKind {
  TimedOut,            // no complete handshake in time
  Closed,              // the client ended the connection without an alert
  DistrustsCa,         // unknown_ca, bad_certificate, certificate_unknown: the proxy's CA is not trusted
  RefusedCertificate,  // the forged certificate was refused for another reason (expired, revoked...)
  NothingInCommon,     // no protocol version, cipher, group or signature scheme both accept
  RecordLayer,         // records that did not decrypt, or were too long: not about certificates
  NotTls,              // the bytes were not TLS at all (plain HTTP on the TLS port...)
  BrokeProtocol,       // a message out of place or malformed
  Network,             // the connection failed (reset)
  Other,
};

// ClientFailureFacts is what is known of a failed handshake with a client.
struct ClientFailureFacts {
  bool timed_out = false;
  bool closed = false;          // the client ended the connection (a FIN, or close_notify)
  unsigned long ssl_error = 0;  // OpenSSL's packed error code (ERR_get_error); 0 if none
  std::string system_error;     // a socket error in words ("Connection reset by peer"); "" if none
};

struct ClientFailure {
  ClientFailureKind kind = ClientFailureKind::Other;
  std::string why;  // a sentence for the log: what happened and, where there is one, the fix
};

// classify_client_failure says why a client's handshake failed.
[[nodiscard]] ClientFailure classify_client_failure(const ClientFailureFacts& facts);
// client_failure_name is the kind in snake_case ("distrusts_ca"), for JSON logs.
[[nodiscard]] std::string_view client_failure_name(ClientFailureKind kind);

// make_hello_answerer returns a server context for first flights the ClientHelloReader refused:
// replayed into it, OpenSSL reads them as its server would and sends the alert it would send (or
// none, for bytes that are not TLS: an HTTP request). It holds no certificate and completes no
// handshake: should OpenSSL read a ClientHello there after all, its ClientHello callback fails the
// handshake with handshake_failure and *hello_read (SSL ex data, see hello_was_read) is set.
[[nodiscard]] ossl::Ptr<SSL_CTX> make_hello_answerer(int min_version);
// hello_was_read says whether OpenSSL read a ClientHello on ssl (made from make_hello_answerer's
// context): the reader refused a hello OpenSSL reads, which is the reader's bug.
[[nodiscard]] bool hello_was_read(SSL* ssl);

}  // namespace tlslab::proxy
