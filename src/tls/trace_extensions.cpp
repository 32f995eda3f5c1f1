// Decoding of TLS extensions (RFC 8446 §4.2 and the registry's older ones) for the trace.
//
// Each decoder reads one extension's body; the caller reports a body that was too short or had
// bytes left over, so a decoder only says what it found. Extensions whose content tells a person
// nothing more than their presence (encrypt_then_mac, post_handshake_auth...) have no decoder:
// their name in the "extensions" list is the whole story.
#include <fmt/format.h>

#include <algorithm>

#include "tls/trace_detail.hpp"

namespace tlslab::tls::detail {
namespace {

// Extension code points (IANA "TLS ExtensionType Values").
enum : std::uint16_t {
  kServerName = 0,
  kMaxFragmentLength = 1,
  kStatusRequest = 5,
  kSupportedGroups = 10,
  kEcPointFormats = 11,
  kSignatureAlgorithms = 13,
  kHeartbeat = 15,
  kAlpn = 16,
  kSignedCertificateTimestamp = 18,
  kPadding = 21,
  kCompressCertificate = 27,
  kRecordSizeLimit = 28,
  kSessionTicket = 35,
  kPreSharedKey = 41,
  kEarlyData = 42,
  kSupportedVersions = 43,
  kCookie = 44,
  kPskKeyExchangeModes = 45,
  kCertificateAuthorities = 47,
  kSignatureAlgorithmsCert = 50,
  kKeyShare = 51,
  kRenegotiationInfo = 0xFF01,
};

// Each decoder reads body and appends its field; returns false when body is too short.
struct Extension {
  std::uint16_t type;
  Where where;
  Fields& out;
  ExtensionFacts* facts;

  void add(std::string value) const { detail::add(out, extension_name(type), std::move(value)); }
};

// names reads a vector (length prefix of prefix bytes) of items of width bytes and adds their
// names.
bool names(WireReader& body, const Extension& ext, std::size_t prefix, std::size_t width, NameOf name) {
  WireReader list;
  if (!body.vector(prefix, list)) return false;
  std::string text;
  bool whole = read_names(list, width, name, text);
  ext.add(std::move(text));
  return whole;
}

bool server_name(WireReader& body, const Extension& ext) {
  if (ext.where != Where::ClientHello) {
    if (body.empty()) ext.add("acknowledged");
    return true;
  }
  WireReader list;
  if (!body.vector(2, list)) return false;
  std::string hosts;
  while (!list.empty()) {
    std::uint8_t type = 0;
    WireReader name;
    if (!list.u8(type) || !list.vector(2, name)) return false;
    if (!hosts.empty()) hosts += ", ";
    // host_name(0) is the only type ever defined (RFC 6066 §3).
    hosts += type == 0 ? printable(name.rest()) : fmt::format("type {} ({})", type, byte_count(name.remaining()));
  }
  ext.add(std::move(hosts));
  return true;
}

bool alpn(WireReader& body, const Extension& ext) {
  WireReader list;
  if (!body.vector(2, list)) return false;
  std::string protocols;
  while (!list.empty()) {
    WireReader protocol;
    if (!list.vector(1, protocol)) return false;
    if (!protocols.empty()) protocols += ", ";
    protocols += printable(protocol.rest());
  }
  ext.add(std::move(protocols));
  return true;
}

bool supported_versions(WireReader& body, const Extension& ext) {
  if (ext.where == Where::ClientHello) return names(body, ext, 1, 2, version_name);
  std::uint16_t selected = 0;
  if (!body.u16(selected)) return false;
  if (ext.facts) ext.facts->selected_version = selected;
  ext.add(version_name(selected));
  return true;
}

// key_share lists the groups of the shares (their public keys tell a person nothing).
bool key_share(WireReader& body, const Extension& ext) {
  std::uint16_t group = 0;
  WireReader key;
  switch (ext.where) {
    case Where::HelloRetryRequest:  // the group the server wants a share for
      if (!body.u16(group)) return false;
      ext.add(group_name(group));
      return true;
    case Where::ClientHello: {
      WireReader list;
      if (!body.vector(2, list)) return false;
      std::string groups;
      while (!list.empty()) {
        if (!list.u16(group) || !list.vector(2, key)) return false;
        if (!groups.empty()) groups += ", ";
        groups += group_name(group);
      }
      ext.add(std::move(groups));
      return true;
    }
    default:
      if (!body.u16(group) || !body.vector(2, key)) return false;
      ext.add(group_name(group));
      return true;
  }
}

bool pre_shared_key(WireReader& body, const Extension& ext) {
  if (ext.where != Where::ClientHello) {
    std::uint16_t selected = 0;
    if (!body.u16(selected)) return false;
    ext.add(fmt::format("selected identity {}", selected));
    return true;
  }
  WireReader identities, binders;
  if (!body.vector(2, identities) || !body.vector(2, binders)) return false;
  std::size_t count = 0;
  for (; !identities.empty(); ++count) {
    WireReader identity;
    std::uint32_t age = 0;
    if (!identities.vector(2, identity) || !identities.u32(age)) return false;
  }
  ext.add(fmt::format("{} {}", count, count == 1 ? "identity" : "identities"));
  return true;
}

bool status_request(WireReader& body, const Extension& ext) {
  if (body.empty()) return true;  // the server's "I will staple" in a TLS 1.2 ServerHello
  std::uint8_t type = 0;
  if (!body.u8(type)) return false;
  std::string kind = certificate_status_type_name(type);
  WireReader part;
  if (ext.where == Where::Certificate) {  // a stapled CertificateStatus (RFC 8446 §4.4.2.1)
    if (!body.vector(3, part)) return false;
    ext.add(fmt::format("{} response, {}", kind, byte_count(part.remaining())));
    return true;
  }
  WireReader responders, extensions;
  if (!body.vector(2, responders) || !body.vector(2, extensions)) return false;
  ext.add(std::move(kind));
  return true;
}

bool early_data(WireReader& body, const Extension& ext) {
  if (ext.where != Where::NewSessionTicket) return true;
  std::uint32_t max_size = 0;
  if (!body.u32(max_size)) return false;
  ext.add(fmt::format("max_early_data_size {}", max_size));
  return true;
}

bool certificate_authorities(WireReader& body, const Extension& ext) {
  WireReader list;
  if (!body.vector(2, list)) return false;
  std::size_t count = 0;
  bool whole = count_vectors(list, 2, count);
  ext.add(fmt::format("{} {}", count, count == 1 ? "name" : "names"));
  return whole;
}

// opaque reports the size of a vector (prefix bytes of length, 0 for "the whole body").
bool opaque(WireReader& body, const Extension& ext, std::size_t prefix) {
  WireReader data;
  if (prefix == 0)
    std::swap(data, body);
  else if (!body.vector(prefix, data))
    return false;
  ext.add(byte_count(data.remaining()));
  return true;
}

// number reads a number of width bytes, shown by name when name is given.
bool number(WireReader& body, const Extension& ext, std::size_t width, NameOf name = nullptr) {
  std::uint32_t value = 0;
  if (!body.number(width, value)) return false;
  ext.add(name ? name(static_cast<std::uint16_t>(value)) : std::to_string(value));
  return true;
}

// Extensions that are one vector of registry values: the vector's length prefix, each value's
// width, and how values are named.
struct NameList {
  std::uint16_t type;
  std::size_t prefix;
  std::size_t width;
  NameOf name;
};

constexpr NameList kNameLists[] = {
    {kSupportedGroups, 2, 2, group_name},
    {kEcPointFormats, 1, 1, point_format_name},
    {kSignatureAlgorithms, 2, 2, signature_scheme_name},
    {kSignatureAlgorithmsCert, 2, 2, signature_scheme_name},
    {kCompressCertificate, 1, 2, certificate_compression_name},
    {kPskKeyExchangeModes, 1, 1, psk_mode_name},
};

// decode_body decodes one extension's body; returns false when it is too short.
bool decode_body(WireReader& body, const Extension& ext) {
  for (const auto& list : kNameLists)
    if (list.type == ext.type) return names(body, ext, list.prefix, list.width, list.name);
  switch (ext.type) {
    case kServerName:
      return server_name(body, ext);
    case kMaxFragmentLength:
      return number(body, ext, 1, max_fragment_length_name);
    case kHeartbeat:
      return number(body, ext, 1, heartbeat_mode_name);
    case kRecordSizeLimit:
      return number(body, ext, 2);
    case kStatusRequest:
      return status_request(body, ext);
    case kAlpn:
      return alpn(body, ext);
    case kSupportedVersions:
      return supported_versions(body, ext);
    case kKeyShare:
      return key_share(body, ext);
    case kPreSharedKey:
      return pre_shared_key(body, ext);
    case kEarlyData:
      return early_data(body, ext);
    case kCertificateAuthorities:
      return certificate_authorities(body, ext);
    case kSessionTicket:
    case kPadding:
      return opaque(body, ext, 0);
    case kSignedCertificateTimestamp:
      return body.empty() || opaque(body, ext, 0);  // empty in a ClientHello
    case kCookie:
      return opaque(body, ext, 2);
    case kRenegotiationInfo:
      return opaque(body, ext, 1);
    default:
      body = WireReader();  // unknown, or nothing worth showing beyond the name
      return true;
  }
}

}  // namespace

bool decode_extensions(WireReader& r, Where where, Fields& out, ExtensionFacts* facts) {
  WireReader block;
  bool whole = r.vector(2, block);
  if (!whole) {
    // Keep what is there: a length that overshoots still leaves the extensions before the cut.
    std::uint16_t announced = 0;
    if (!r.u16(announced)) {
      error(out, "truncated extensions length");
      return false;
    }
    block = r;
    r = WireReader();
    error(out, fmt::format("truncated extensions: {} announced, {} present", byte_count(announced), block.remaining()));
  }
  std::string list;
  Fields details;
  std::vector<std::uint16_t> types;
  while (!block.empty()) {
    std::uint16_t type = 0;
    if (!block.u16(type)) {
      error(details, "truncated extension header");
      whole = false;
      break;
    }
    types.push_back(type);
    std::string name = extension_name(type);
    if (!list.empty()) list += ", ";
    list += name;
    WireReader body;
    if (!block.vector(2, body)) {  // where the next extension starts is unknown: stop here
      error(details, "truncated extension " + name);
      whole = false;
      break;
    }
    if (!decode_body(body, Extension{type, where, details, facts}))
      error(details, "truncated extension " + name);
    else
      expect_end(body, details, "extension " + name);
  }
  // A certificate entry without extensions is the norm; saying so for each would be noise.
  if (!list.empty() || where != Where::Certificate) add(out, "extensions", list.empty() ? "none" : list);
  out.insert(out.end(), std::make_move_iterator(details.begin()), std::make_move_iterator(details.end()));
  // RFC 8446 §4.2: no two extensions of the same type. Sorting keeps this linear-logarithmic.
  std::sort(types.begin(), types.end());
  for (auto it = std::adjacent_find(types.begin(), types.end()); it != types.end();
       it = std::adjacent_find(std::upper_bound(it, types.end(), *it), types.end()))
    error(out, "duplicate extension " + extension_name(*it));
  return whole;
}

}  // namespace tlslab::tls::detail
