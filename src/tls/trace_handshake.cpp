// Decoding of handshake message bodies (RFC 8446 §4, RFC 5246 §7.4) for the trace.
//
// Each decoder reads one body front to back and stops at the first short read, reporting it as
// an "error" field after the fields it did decode. Messages whose format the negotiation decides
// (Certificate, CertificateRequest, NewSessionTicket, CertificateVerify, the key exchanges) are
// read as the TraceContext says, or, without one, in the first format the bytes fit exactly.
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

// Body reads one message body into its fields. Each read either succeeds, adding its field, or
// reports "truncated WHAT" and fails, as does every read after it: a decoder is a straight list
// of reads that stops at the first short one.
class Body {
 public:
  Body(WireReader r, Fields& out) : r_(r), out_(out) {}

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] bool at_end() const noexcept { return r_.empty(); }
  [[nodiscard]] Fields& out() noexcept { return out_; }

  // number reads an integer of width bytes into value (no field).
  bool number(std::string_view what, std::size_t width, std::uint32_t& value) {
    return check(what, r_.number(width, value));
  }
  // named adds field what = name(value) for an integer of width bytes; value receives it.
  bool named(std::string_view what, std::size_t width, NameOf name, std::uint32_t* value = nullptr) {
    std::uint32_t v = 0;
    if (!number(what, width, v)) return false;
    add(out_, what, name(static_cast<std::uint16_t>(v)));
    if (value) *value = v;
    return true;
  }
  // bytes reads n bytes into out (no field).
  bool bytes(std::string_view what, std::size_t n, std::string_view& out) { return check(what, r_.bytes(n, out)); }
  // vector reads a vector with a length prefix of width bytes into v (no field).
  bool vector(std::string_view what, std::size_t width, WireReader& v) { return check(what, r_.vector(width, v)); }
  // length adds field WHAT_length: the size of a vector with a length prefix of width bytes.
  bool length(std::string_view what, std::size_t width) {
    WireReader v;
    if (!vector(what, width, v)) return false;
    add(out_, fmt::format("{}_length", what), std::to_string(v.remaining()));
    return true;
  }
  // names adds field what: the names of the item_width-byte items of a vector.
  bool names(std::string_view what, std::size_t width, std::size_t item_width, NameOf name) {
    WireReader v;
    if (!vector(what, width, v)) return false;
    std::string text;
    bool whole = read_names(v, item_width, name, text);
    add(out_, what, std::move(text));
    if (!whole) error(out_, fmt::format("odd length of {}", what));
    return true;
  }
  // extensions decodes an extension block; false when it (or an earlier read) was cut short.
  bool extensions(Where where, ExtensionFacts* facts = nullptr) {
    return ok_ && (ok_ = decode_extensions(r_, where, out_, facts));
  }
  // end reports bytes left over after `after`, when every read succeeded.
  void end(std::string_view after) {
    if (ok_) expect_end(r_, out_, after);
  }

 private:
  bool check(std::string_view what, bool read) {
    if (ok_ && !read) truncated(out_, what);
    ok_ = ok_ && read;
    return ok_;
  }

  WireReader r_;
  Fields& out_;
  bool ok_ = true;
};

void client_hello(WireReader r, Fields& out) {
  Body b(r, out);
  std::string_view random;
  b.named("legacy_version", 2, version_name);
  if (b.bytes("random", 32, random)) add(out, "random", hex(random));
  b.length("session_id", 1);
  b.names("cipher_suites", 2, 2, cipher_suite_name);
  b.names("compression_methods", 1, 1, compression_method_name);
  if (b.at_end()) return;  // SSL 3.0 and some TLS 1.0 clients send no extensions
  if (b.extensions(Where::ClientHello)) b.end("the extensions");
}

// server_hello decodes a ServerHello or HelloRetryRequest and learns the negotiation from it.
void server_hello(WireReader r, bool retry, TraceContext& context, Fields& out) {
  Body b(r, out);
  std::uint32_t version = 0, suite = 0;
  std::string_view random;
  if (!b.named("legacy_version", 2, version_name, &version)) return;
  if (b.bytes("random", 32, random)) {
    add(out, "random", hex(random));
    // RFC 8446 §4.1.3: a TLS 1.3 server negotiating less says so in the last 8 bytes of random.
    if (random.ends_with("DOWNGRD\x01")) add(out, "downgrade_sentinel", "TLS 1.2");
    if (random.ends_with(std::string_view("DOWNGRD\x00", 8))) add(out, "downgrade_sentinel", "TLS 1.1 or earlier");
  }
  b.length("session_id", 1);
  if (b.named("cipher_suite", 2, cipher_suite_name, &suite)) context.cipher_suite = static_cast<std::uint16_t>(suite);
  b.named("compression_method", 1, compression_method_name);
  ExtensionFacts facts;
  if (b.ok() && !b.at_end() && b.extensions(retry ? Where::HelloRetryRequest : Where::ServerHello, &facts))
    b.end("the extensions");
  // RFC 8446 §4.2.1: supported_versions, when present, overrides legacy_version.
  context.version = facts.selected_version != 0 ? facts.selected_version : static_cast<std::uint16_t>(version);
  add(out, "negotiated_version", version_name(context.version));
}

void encrypted_extensions(WireReader r, Fields& out) {
  Body b(r, out);
  if (b.extensions(Where::EncryptedExtensions)) b.end("the extensions");
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

// request_context reads TLS 1.3's certificate_request_context, reported only when not empty (a
// server's own Certificate has an empty one).
void request_context(Body& b) {
  WireReader context;
  if (b.vector("certificate_request_context", 1, context) && !context.empty())
    add(b.out(), "certificate_request_context_length", std::to_string(context.remaining()));
}

void certificate(WireReader r, Era era, Fields& out) {
  Body b(r, out);
  WireReader list;
  if (era == Era::Tls13) request_context(b);
  if (!b.vector("certificate_list", 3, list)) return;
  Fields entries;
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
  b.end("certificate_list");
}

void certificate_request(WireReader r, Era era, Fields& out) {
  Body b(r, out);
  if (era == Era::Tls13) {
    request_context(b);
    if (b.extensions(Where::CertificateRequest)) b.end("the extensions");
    return;
  }
  b.names("certificate_types", 1, 1, client_certificate_type_name);
  if (era != Era::Older) b.names("signature_algorithms", 2, 2, signature_scheme_name);  // TLS 1.2 added them
  WireReader authorities;
  std::size_t count = 0;
  if (!b.vector("certificate_authorities", 2, authorities)) return;
  bool whole = count_vectors(authorities, 2, count);
  add(out, "certificate_authorities", std::to_string(count));
  if (!whole) truncated(out, "certificate_authorities");
  b.end("certificate_authorities");
}

void new_session_ticket(WireReader r, Era era, Fields& out) {
  Body b(r, out);
  bool tls13 = era == Era::Tls13;
  std::uint32_t lifetime = 0, age_add = 0;
  std::string_view lifetime_name = tls13 ? "ticket_lifetime" : "ticket_lifetime_hint";
  if (b.number(lifetime_name, 4, lifetime)) add(out, lifetime_name, fmt::format("{} seconds", lifetime));
  if (tls13 && b.number("ticket_age_add", 4, age_add)) b.length("ticket_nonce", 1);
  b.length("ticket", 2);
  if (!tls13) return b.end("the ticket");
  if (b.extensions(Where::NewSessionTicket)) b.end("the extensions");
}

// by_era decodes with the context's era, or tries the candidate eras in order and keeps the first
// that fits exactly, without errors (the first one's output when none does). Adds a "format"
// field saying which era's format was read.
void by_era(WireReader r, Era era, std::initializer_list<Era> candidates, FormatDecoder decode, Fields& out) {
  Fields chosen;
  bool guess = era == Era::Unknown;
  if (guess) era = *candidates.begin();  // kept, errors and all, when no format fits
  decode(r, era, chosen);
  for (auto it = candidates.begin() + 1; guess && has_error(chosen) && it != candidates.end(); ++it) {
    Fields trial;
    decode(r, *it, trial);
    if (!has_error(trial)) {
      era = *it;
      chosen = std::move(trial);
    }
  }
  add(out, "format", era_name(era));
  out.insert(out.end(), std::make_move_iterator(chosen.begin()), std::make_move_iterator(chosen.end()));
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
    add(out, "curve_type", ec_curve_type_name(curve_type));
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
  Body b(r, out);
  b.named("request_update", 1, key_update_request_name);
  b.end("request_update");
}

void certificate_status(WireReader r, Fields& out) {
  Body b(r, out);
  b.named("status_type", 1, certificate_status_type_name);
  b.length("response", 3);
  b.end("the response");
}

void hello_verify_request(WireReader r, Fields& out) {
  Body b(r, out);
  b.named("server_version", 2, version_name);
  b.length("cookie", 1);
  b.end("the cookie");
}

void compressed_certificate(WireReader r, Fields& out) {
  Body b(r, out);
  std::uint32_t uncompressed = 0;
  b.named("algorithm", 2, certificate_compression_name);
  if (b.number("uncompressed_length", 3, uncompressed)) add(out, "uncompressed_length", std::to_string(uncompressed));
  b.length("compressed_certificate_message", 3);
  b.end("the compressed certificate");
}

void next_protocol(WireReader r, Fields& out) {
  Body b(r, out);
  WireReader protocol, padding;
  if (b.vector("selected_protocol", 1, protocol)) add(out, "selected_protocol", printable(protocol.rest()));
  b.vector("padding", 1, padding);
  b.end("the padding");
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
