// tls::ClientOptions — everything that shapes a client handshake, as plain data the CLI fills in.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tlslab::tls {

struct ClientOptions {
  std::string servername;             // SNI to send; empty sends none (IP literals send none, as RFC 6066 says)
  std::string verify_name;            // the name the certificate must carry (host, or --servername)
  std::optional<std::string> cafile;  // --cacert
  std::optional<std::string> capath;  // --capath (hashed directory)
  bool insecure = false;              // -k: report problems, do not fail
  bool check_hostname = true;         // --no-check-hostname turns only the name check off
  std::string tls_min;                // "1.0" .. "1.3"; empty = library default
  std::string tls_max;
  std::string ciphers;            // TLS <= 1.2 cipher list
  std::string ciphersuites;       // TLS 1.3 suites
  std::string groups;             // "X25519:P-256"
  std::string sigalgs;            // "ECDSA+SHA256:RSA-PSS+SHA256"
  std::vector<std::string> alpn;  // in preference order
  std::string cert_file;          // client certificate (PEM, may hold the chain)
  std::string key_file;           // its key (defaults to cert_file)
  std::string keylog_file;        // NSS key log; "" = none
  std::string keylog_variable;    // "SSLKEYLOGFILE" when keylog_file came from it: errors name it
  std::string crlfile;            // --crlfile: every certificate of the chain checked against these CRLs
  bool cert_status = false;       // --cert-status: ask for a stapled OCSP response and require it "good"
};

}  // namespace tlslab::tls
