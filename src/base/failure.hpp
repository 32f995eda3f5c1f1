// tlslab::Failure — the one error type users see, and the exit codes it maps to.
//
// Library code throws Failure{Kind, message}; the CLI prints the message on one line and exits
// with exit_code(kind). Codes follow curl's numbering where the meanings overlap, so scripts that
// already understand curl's codes understand ours.
#pragma once

#include <stdexcept>
#include <string>

namespace tlslab {

enum class Kind {
  Usage,         // 2: bad command line
  Generic,       // 1: anything not listed below
  Url,           // 3: the URL is malformed (a space, a bad port, a host that is not a name)
  ProxyResolve,  // 5: the proxy's host name (-x) could not be resolved
  Resolve,       // 6: host name could not be resolved
  Connect,       // 7: TCP connect failed, or a listen address is in use
  HttpStatus,    // 22: HTTP status >= 400 with --fail
  Write,         // 23: an output file could not be written
  Input,         // 26: an input file (certificate, key, CSR, list) could not be read or parsed
  Timeout,       // 28: --connect-timeout or --max-time expired
  Handshake,     // 35: the TLS handshake failed
  Receive,       // 56: the peer closed or sent garbage after the handshake
  ClientCert,    // 58: the client certificate or key could not be used
  Verify,        // 60: certificate verification or hostname check failed
  TooLarge,      // 63: a response exceeded --max-filesize
  CaFile,        // 77: the CA file or directory could not be used
  CrlFile,       // 82: the CRL file (--crlfile) could not be read or parsed
  CertStatus,    // 91: --cert-status: no stapled OCSP response, an invalid one, or one that is not "good"
  Exists,        // 73: refusing to overwrite (a CA, a key)
  Interrupt,     // 130: stopped by Ctrl-C (SIGINT) after reporting what was learnt (128 + SIGINT, as shells say)
};

// exit_code returns the process exit status documented for kind.
[[nodiscard]] constexpr int exit_code(Kind kind) noexcept {
  switch (kind) {
    case Kind::Usage:
      return 2;
    case Kind::Generic:
      return 1;
    case Kind::Url:
      return 3;
    case Kind::ProxyResolve:
      return 5;
    case Kind::Resolve:
      return 6;
    case Kind::Connect:
      return 7;
    case Kind::HttpStatus:
      return 22;
    case Kind::Write:
      return 23;
    case Kind::Input:
      return 26;
    case Kind::Timeout:
      return 28;
    case Kind::Handshake:
      return 35;
    case Kind::Receive:
      return 56;
    case Kind::ClientCert:
      return 58;
    case Kind::Verify:
      return 60;
    case Kind::TooLarge:
      return 63;
    case Kind::CaFile:
      return 77;
    case Kind::Exists:
      return 73;
    case Kind::CrlFile:
      return 82;
    case Kind::CertStatus:
      return 91;
    case Kind::Interrupt:
      return 130;
  }
  return 1;
}

// Failure carries a complete, user-facing sentence: what was being done, on what, and why.
class Failure : public std::runtime_error {
 public:
  Failure(Kind kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}
  [[nodiscard]] Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

}  // namespace tlslab
