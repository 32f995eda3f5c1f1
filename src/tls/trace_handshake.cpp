// Decoding of handshake message bodies (RFC 8446 §4, RFC 5246 §7.4) for the trace.
//
// Each decoder reads one body front to back and stops at the first short read, reporting it as
// an "error" field after the fields it did decode. Messages whose format the version decides
// (Certificate, CertificateRequest, NewSessionTicket, CertificateVerify) are read as the
// TraceContext says, or, without one, in the first format the bytes fit exactly.
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>

#include "ossl/ptr.hpp"
#include "pki/cert_info.hpp"
#include "tls/trace_detail.hpp"

namespace tlslab::tls::detail {
namespace {

constexpr std::uint16_t kTls12 = 0x0303;
constexpr std::uint16_t kTls13 = 0x0304;

// The ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
constexpr std::string_view kHelloRetryRandom =
    "\xCF\x21\xAD\x74\xE5\x9A\x61\x11\xBE\x1D\x8C\x02\x1E\x65\xB8\x91"
    "\xC2\xA2\x11\x16\x7A\xBB\x8C\x5E\x07\x9E\x09\xE2\xC8\xA8\x33\x9C";

// Which message formats a negotiated version implies.
enum class Era { Unknown, Tls13, Tls12, Older };  // Older: TLS 1.1 and before, no signature schemes

Era era_of(std::uint16_t version) {
  if (version == 0) return Era::Unknown;
  if (version == kTls13 || version == 0xFEFC || (version & 0xFF00) == 0x7F00) return Era::Tls13;  // also drafts
  if (version == kTls12 || version == 0xFEFD) return Era::Tls12;
  return Era::Older;
}

std::string era_name(Era era) {
  switch (era) {
    case Era::Tls13:
      return "TLS 1.3";
    case Era::Tls12:
      return "TLS 1.2";
    case Era::Older:
      return "TLS 1.1 or earlier";
    case Era::Unknown:
      break;
  }
  return "unknown";
}

// truncated reports a body that ended before `what`.
void truncated(Fields& out, std::string_view what) { error(out, fmt::format("truncated {}", what)); }

std::string handshake_type_name(std::uint8_t type) {
  switch (type) {
    case 0:
      return "HelloRequest";
    case 1:
      return "ClientHello";
    case 2:
      return "ServerHello";
    case 3:
      return "HelloVerifyRequest";
    case 4:
      return "NewSessionTicket";
    case 5:
      return "EndOfEarlyData";
    case 6:
      return "HelloRetryRequest";  // draft TLS 1.3 only; final TLS 1.3 uses a special ServerHello
    case 8:
      return "EncryptedExtensions";
    case 11:
      return "Certificate";
    case 12:
      return "ServerKeyExchange";
    case 13:
      return "CertificateRequest";
    case 14:
      return "ServerHelloDone";
    case 15:
      return "CertificateVerify";
    case 16:
      return "ClientKeyExchange";
    case 20:
      return "Finished";
    case 21:
      return "CertificateURL";
    case 22:
      return "CertificateStatus";
    case 23:
      return "SupplementalData";
    case 24:
      return "KeyUpdate";
    case 25:
      return "CompressedCertificate";
    case 67:
      return "NextProtocol";
    case 254:
      return "MessageHash";
  }
  return unknown_name(type, 2);
}

std::string compression_name(std::uint16_t method) {
  if (method == 0) return "null";
  if (method == 1) return "deflate";
  return unknown_name(method, 2);
}

// session_id reads legacy_session_id and reports its length.
bool session_id(WireReader& r, Fields& out) {
  WireReader id;
  if (!r.vector(1, id)) return false;
  add(out, "session_id_length", std::to_string(id.remaining()));
  return true;
}

void client_hello(WireReader r, Fields& out) {
  std::uint16_t version = 0;
  std::string_view random;
  WireReader suites, compression;
  if (!r.u16(version)) return truncated(out, "legacy_version");
  add(out, "legacy_version", version_name(version));
  if (!r.bytes(32, random)) return truncated(out, "random");
  add(out, "random", hex(random));
  if (!session_id(r, out)) return truncated(out, "session_id");
  if (!r.vector(2, suites)) return truncated(out, "cipher_suites");
  std::string names;
  bool whole = read_names(suites, 2, cipher_suite_name, names);
  add(out, "cipher_suites", std::move(names));
  if (!whole) error(out, "odd length of cipher_suites");
  if (!r.vector(1, compression)) return truncated(out, "compression_methods");
  names.clear();
  (void)read_names(compression, 1, compression_name, names);
  add(out, "compression_methods", std::move(names));
  if (r.empty()) return;  // SSL 3.0 and some TLS 1.0 clients send no extensions
  if (decode_extensions(r, Where::ClientHello, out)) expect_end(r, out, "the extensions");
}

// server_hello decodes a ServerHello or HelloRetryRequest and learns the negotiation from it.
void server_hello(WireReader r, bool retry, TraceContext& context, Fields& out) {
  std::uint16_t version = 0, suite = 0;
  std::uint8_t compression = 0;
  std::string_view random;
  if (!r.u16(version)) return truncated(out, "legacy_version");
  add(out, "legacy_version", version_name(version));
  context.version = version;
  if (!r.bytes(32, random)) return truncated(out, "random");
  add(out, "random", hex(random));
  // RFC 8446 §4.1.3: a TLS 1.3 server negotiating less says so in the last 8 bytes of random.
  if (random.ends_with("DOWNGRD\x01")) add(out, "downgrade_sentinel", "TLS 1.2");
  if (random.ends_with(std::string_view("DOWNGRD\x00", 8))) add(out, "downgrade_sentinel", "TLS 1.1 or earlier");
  if (!session_id(r, out)) return truncated(out, "session_id");
  if (!r.u16(suite)) return truncated(out, "cipher_suite");
  add(out, "cipher_suite", cipher_suite_name(suite));
  context.cipher_suite = suite;
  if (!r.u8(compression)) return truncated(out, "compression_method");
  add(out, "compression_method", compression_name(compression));
  ExtensionFacts facts;
  if (!r.empty() && decode_extensions(r, retry ? Where::HelloRetryRequest : Where::ServerHello, out, &facts))
    expect_end(r, out, "the extensions");
  // RFC 8446 §4.2.1: supported_versions, when present, overrides legacy_version.
  if (facts.selected_version != 0) context.version = facts.selected_version;
  add(out, "negotiated_version", version_name(context.version));
}

void encrypted_extensions(WireReader r, Fields& out) {
  if (decode_extensions(r, Where::EncryptedExtensions, out)) expect_end(r, out, "the extensions");
}

// certificate_text returns "CN (N bytes)" for one DER certificate, or says it is not one.
std::string certificate_text(std::string_view der) {
  // Parsing failures push onto OpenSSL's error queue; the mark keeps them from leaking into an
  // unrelated error message later.
  ERR_set_mark();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::Ptr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  std::string name = "not a certificate";
  if (cert) {
    auto info = pki::describe(cert.get());
    name = printable(info.common_name.empty() ? info.subject : info.common_name);
  }
  ERR_pop_to_mark();
  return fmt::format("{} ({})", name, byte_count(der.size()));
}

// A format decoder reads a whole body in one era's format.
using FormatDecoder = void (*)(WireReader r, Era era, Fields& out);

bool has_error(const Fields& out) {
  return std::any_of(out.begin(), out.end(), [](const TraceField& f) { return f.name == "error"; });
}

void certificate(WireReader r, Era era, Fields& out) {
  Fields entries;
  WireReader list;
  if (era == Era::Tls13) {
    WireReader request_context;
    if (!r.vector(1, request_context)) return truncated(out, "certificate_request_context");
    if (!request_context.empty())
      add(out, "certificate_request_context_length", std::to_string(request_context.remaining()));
  }
  if (!r.vector(3, list)) return truncated(out, "certificate_list");
  std::size_t count = 0;
  while (!list.empty()) {
    WireReader der;
    if (!list.vector(3, der)) {
      truncated(entries, "certificate entry");
      break;
    }
    ++count;
    add(entries, "certificate", certificate_text(der.rest()));
    if (era == Era::Tls13 && !decode_extensions(list, Where::Certificate, entries)) break;
  }
  add(out, "certificates", std::to_string(count));
  out.insert(out.end(), entries.begin(), entries.end());
  expect_end(r, out, "certificate_list");
}

void certificate_request(WireReader r, Era era, Fields& out) {
  WireReader part;
  if (era == Era::Tls13) {
    if (!r.vector(1, part)) return truncated(out, "certificate_request_context");
    if (!part.empty()) add(out, "certificate_request_context_length", std::to_string(part.remaining()));
    if (decode_extensions(r, Where::CertificateRequest, out)) expect_end(r, out, "the extensions");
    return;
  }
  static constexpr NameOf certificate_type = [](std::uint16_t type) -> std::string {
    switch (type) {  // ClientCertificateType (RFC 5246 §7.4.4, RFC 8422 §5.5)
      case 1:
        return "rsa_sign";
      case 2:
        return "dss_sign";
      case 3:
        return "rsa_fixed_dh";
      case 4:
        return "dss_fixed_dh";
      case 64:
        return "ecdsa_sign";
      case 65:
        return "rsa_fixed_ecdh";
      case 66:
        return "ecdsa_fixed_ecdh";
    }
    return unknown_name(type, 2);
  };
  std::string names;
  if (!r.vector(1, part)) return truncated(out, "certificate_types");
  (void)read_names(part, 1, certificate_type, names);
  add(out, "certificate_types", std::move(names));
  if (era != Era::Older) {  // TLS 1.2 added supported_signature_algorithms
    names.clear();
    if (!r.vector(2, part)) return truncated(out, "supported_signature_algorithms");
    if (!read_names(part, 2, signature_scheme_name, names)) error(out, "odd length of signature_algorithms");
    add(out, "signature_algorithms", std::move(names));
  }
  if (!r.vector(2, part)) return truncated(out, "certificate_authorities");
  std::size_t count = 0;
  for (WireReader name; !part.empty(); ++count)
    if (!part.vector(2, name)) {
      truncated(out, "certificate_authorities");
      break;
    }
  add(out, "certificate_authorities", std::to_string(count));
  expect_end(r, out, "certificate_authorities");
}

void new_session_ticket(WireReader r, Era era, Fields& out) {
  std::uint32_t lifetime = 0, age_add = 0;
  WireReader nonce, ticket;
  if (!r.u32(lifetime)) return truncated(out, "ticket_lifetime");
  add(out, era == Era::Tls13 ? "ticket_lifetime" : "ticket_lifetime_hint", fmt::format("{} seconds", lifetime));
  if (era == Era::Tls13) {
    if (!r.u32(age_add)) return truncated(out, "ticket_age_add");
    if (!r.vector(1, nonce)) return truncated(out, "ticket_nonce");
    add(out, "ticket_nonce_length", std::to_string(nonce.remaining()));
  }
  if (!r.vector(2, ticket)) return truncated(out, "ticket");
  add(out, "ticket_length", std::to_string(ticket.remaining()));
  if (era == Era::Tls13 && decode_extensions(r, Where::NewSessionTicket, out)) expect_end(r, out, "the extensions");
  if (era != Era::Tls13) expect_end(r, out, "the ticket");
}

// by_era decodes with the context's era, or tries the candidate eras in order and keeps the first
// that fits exactly, without errors (the first one's output when none does). Adds a "format"
// field saying which era's format was read.
void by_era(WireReader r, Era era, std::initializer_list<Era> candidates, FormatDecoder decode, Fields& out) {
  if (era == Era::Unknown) {
    for (Era candidate : candidates) {
      Fields trial;
      decode(r, candidate, trial);
      if (!has_error(trial)) {
        add(out, "format", era_name(candidate));
        out.insert(out.end(), trial.begin(), trial.end());
        return;
      }
    }
    era = *candidates.begin();
  }
  add(out, "format", era_name(era));
  decode(r, era, out);
}

// KeyExchange is what a TLS 1.2 cipher suite's key exchange puts in ServerKeyExchange and
// ClientKeyExchange; Unknown when the cipher suite is not known.
enum class KeyExchange { Unknown, Ecdhe, Dhe, Rsa, Other };

KeyExchange key_exchange(std::uint16_t suite) {
  if (suite == 0) return KeyExchange::Unknown;
  std::string name = cipher_suite_name(suite);
  if (name.find("PSK") != std::string::npos || name.find("SRP") != std::string::npos) return KeyExchange::Other;
  if (name.starts_with("TLS_ECDHE_") || name.starts_with("TLS_ECDH_anon_")) return KeyExchange::Ecdhe;
  if (name.starts_with("TLS_DHE_") || name.starts_with("TLS_DH_anon_")) return KeyExchange::Dhe;
  if (name.starts_with("TLS_RSA_")) return KeyExchange::Rsa;
  return KeyExchange::Other;
}

// signature reads a digitally-signed struct (RFC 5246 §4.7, RFC 8446 §4.4.3): the signature
// scheme from TLS 1.2 on (TLS 1.0 and 1.1 sign with a fixed algorithm and name none), then the
// signature; without a context, the form the bytes fit exactly. Returns false when truncated.
bool signature(WireReader& r, Era era, Fields& out) {
  std::uint16_t scheme = 0;
  WireReader sig;
  if (era == Era::Unknown) {
    WireReader probe = r;
    bool fits_older = probe.vector(2, sig) && probe.empty();
    probe = r;
    bool fits_tls12 = probe.u16(scheme) && probe.vector(2, sig) && probe.empty();
    era = fits_older && !fits_tls12 ? Era::Older : Era::Tls12;
  }
  if (era != Era::Older) {
    if (!r.u16(scheme)) return false;
    add(out, "signature_scheme", signature_scheme_name(scheme));
  }
  if (!r.vector(2, sig)) return false;
  add(out, "signature_length", std::to_string(sig.remaining()));
  return true;
}

void certificate_verify(WireReader r, Era era, Fields& out) {
  if (!signature(r, era, out)) return truncated(out, "signature");
  expect_end(r, out, "the signature");
}

// ecdh_params reads ServerECDHParams (RFC 8422 §5.4).
bool ecdh_params(WireReader& r, Fields& out) {
  std::uint8_t curve_type = 0;
  std::uint16_t group = 0;
  WireReader point;
  if (!r.u8(curve_type)) return false;
  if (curve_type != 3) {  // explicit curves (1, 2) are deprecated and not decoded
    add(out, "curve_type",
        curve_type == 1   ? "explicit_prime"
        : curve_type == 2 ? "explicit_char2"
                          : unknown_name(curve_type, 2));
    return false;
  }
  if (!r.u16(group) || !r.vector(1, point)) return false;
  add(out, "curve", group_name(group));
  add(out, "public_key_length", std::to_string(point.remaining()));
  return true;
}

// dh_params reads ServerDHParams (RFC 5246 §7.4.3).
bool dh_params(WireReader& r, Fields& out) {
  WireReader p, g, ys;
  if (!r.vector(2, p) || !r.vector(2, g) || !r.vector(2, ys)) return false;
  std::string_view prime = p.rest();
  while (!prime.empty() && prime.front() == 0) prime.remove_prefix(1);
  std::size_t bits = prime.size() * 8;
  for (auto top = static_cast<unsigned char>(prime.empty() ? 0xFF : prime.front()); !(top & 0x80); top <<= 1) --bits;
  add(out, "dh_prime_bits", std::to_string(bits));
  add(out, "public_key_length", std::to_string(ys.remaining()));
  return true;
}

void server_key_exchange(WireReader r, const TraceContext& context, Fields& out) {
  Era era = era_of(context.version);
  KeyExchange kex = key_exchange(context.cipher_suite);
  auto attempt = [&](bool (*params)(WireReader&, Fields&), Fields& into) {
    WireReader probe = r;
    // Anonymous suites end with the parameters; the others with a signature.
    return params(probe, into) && (probe.empty() || (signature(probe, era, into) && probe.empty()));
  };
  if (kex == KeyExchange::Unknown) {  // take the shape the bytes fit exactly
    for (auto params : {ecdh_params, dh_params}) {
      Fields trial;
      if (attempt(params, trial)) {
        out.insert(out.end(), trial.begin(), trial.end());
        return;
      }
    }
    return;  // the length in the message header is all that can be said
  }
  if (kex != KeyExchange::Ecdhe && kex != KeyExchange::Dhe) return;
  if (!attempt(kex == KeyExchange::Ecdhe ? ecdh_params : dh_params, out))
    error(out, "malformed key exchange parameters");
}

void client_key_exchange(WireReader r, const TraceContext& context, Fields& out) {
  KeyExchange kex = key_exchange(context.cipher_suite);
  WireReader value;
  WireReader probe = r;
  // ECDHE sends the point with a 1-byte length, RSA and DHE a 2-byte one (RFC 8422 §5.7, RFC 5246
  // §7.4.7); without a cipher suite, the form that fits exactly.
  if ((kex == KeyExchange::Ecdhe || kex == KeyExchange::Unknown) && probe.vector(1, value) && probe.empty())
    return add(out, "public_key_length", std::to_string(value.remaining()));
  probe = r;
  if ((kex == KeyExchange::Rsa || kex == KeyExchange::Dhe || kex == KeyExchange::Unknown) && probe.vector(2, value) &&
      probe.empty())
    return add(out, kex == KeyExchange::Rsa ? "encrypted_premaster_length" : "exchange_keys_length",
               std::to_string(value.remaining()));
  if (kex == KeyExchange::Ecdhe || kex == KeyExchange::Rsa || kex == KeyExchange::Dhe)
    error(out, "malformed key exchange");
}

void key_update(WireReader r, Fields& out) {
  std::uint8_t request = 0;
  if (!r.u8(request)) return truncated(out, "request_update");
  add(out, "request_update",
      request == 0   ? "update_not_requested"
      : request == 1 ? "update_requested"
                     : unknown_name(request, 2));
  expect_end(r, out, "request_update");
}

void certificate_status(WireReader r, Fields& out) {
  std::uint8_t type = 0;
  WireReader response;
  if (!r.u8(type)) return truncated(out, "status_type");
  add(out, "status_type", type == 1 ? "ocsp" : unknown_name(type, 2));
  if (!r.vector(3, response)) return truncated(out, "response");
  add(out, "response_length", std::to_string(response.remaining()));
  expect_end(r, out, "the response");
}

void hello_verify_request(WireReader r, Fields& out) {
  std::uint16_t version = 0;
  WireReader cookie;
  if (!r.u16(version)) return truncated(out, "server_version");
  add(out, "server_version", version_name(version));
  if (!r.vector(1, cookie)) return truncated(out, "cookie");
  add(out, "cookie_length", std::to_string(cookie.remaining()));
  expect_end(r, out, "the cookie");
}

void compressed_certificate(WireReader r, Fields& out) {
  std::uint16_t algorithm = 0;
  std::uint32_t uncompressed = 0;
  WireReader data;
  if (!r.u16(algorithm)) return truncated(out, "algorithm");
  add(out, "algorithm",
      algorithm == 1   ? "zlib"
      : algorithm == 2 ? "brotli"
      : algorithm == 3 ? "zstd"
                       : unknown_name(algorithm, 4));
  if (!r.u24(uncompressed) || !r.vector(3, data)) return truncated(out, "compressed_certificate_message");
  add(out, "uncompressed_length", std::to_string(uncompressed));
  add(out, "compressed_length", std::to_string(data.remaining()));
  expect_end(r, out, "the compressed certificate");
}

void next_protocol(WireReader r, Fields& out) {
  WireReader protocol, padding;
  if (!r.vector(1, protocol)) return truncated(out, "selected_protocol");
  add(out, "selected_protocol", printable(protocol.rest()));
  if (!r.vector(1, padding)) return truncated(out, "padding");
  expect_end(r, out, "the padding");
}

}  // namespace

void decode_handshake_body(std::uint8_t msg_type, WireReader body, TraceContext& context, TraceMessage& message) {
  Fields& out = message.fields;
  Era era = era_of(context.version);
  message.type = handshake_type_name(msg_type);
  switch (msg_type) {
    case 1:
      return client_hello(body, out);
    case 2: {
      bool retry = body.rest().substr(std::min<std::size_t>(2, body.remaining()), 32) == kHelloRetryRandom;
      if (retry) message.type = "HelloRetryRequest";
      return server_hello(body, retry, context, out);
    }
    case 3:
      return hello_verify_request(body, out);
    case 4:
      return by_era(body, era, {Era::Tls13, Era::Tls12}, new_session_ticket, out);
    case 8:
      return encrypted_extensions(body, out);
    case 11:
      return by_era(body, era, {Era::Tls13, Era::Tls12}, certificate, out);
    case 12:
      return server_key_exchange(body, context, out);
    case 13:
      return by_era(body, era, {Era::Tls13, Era::Tls12, Era::Older}, certificate_request, out);
    case 15:
      return certificate_verify(body, era, out);
    case 16:
      return client_key_exchange(body, context, out);
    case 20:
      return add(out, "verify_data_length", std::to_string(body.remaining()));
    case 22:
      return certificate_status(body, out);
    case 24:
      return key_update(body, out);
    case 25:
      return compressed_certificate(body, out);
    case 67:
      return next_protocol(body, out);
    case 254:
      return add(out, "hash_length", std::to_string(body.remaining()));
    case 0:   // HelloRequest
    case 5:   // EndOfEarlyData
    case 14:  // ServerHelloDone
      return expect_end(body, out, "an empty message");
    default:
      return;  // unknown: the type and length say all we know
  }
}

}  // namespace tlslab::tls::detail
