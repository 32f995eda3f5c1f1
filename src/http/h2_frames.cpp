#include "http/h2_frames.hpp"

#include <fmt/format.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <new>
#include <utility>

#include "tls/wire_reader.hpp"

namespace tlslab::http {
namespace {

using tls::WireReader;

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::size_t kFrameHeader = 9;
// Decoded header bytes kept per block; a block that decodes to more (an HPACK bomb) is still
// inflated, to keep the dynamic table in step, but no longer stored.
constexpr std::size_t kMaxDecodedBlock = 256 * 1024;

enum Type : std::uint8_t {
  Data = 0,
  Headers = 1,
  Priority = 2,
  RstStream = 3,
  Settings = 4,
  PushPromise = 5,
  Ping = 6,
  Goaway = 7,
  WindowUpdate = 8,
  Continuation = 9,
};

enum Flag : std::uint8_t { EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, PriorityFlag = 0x20 };

std::string escape(std::string_view bytes) {
  std::string text;
  text.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\')
      text += static_cast<char>(c);
    else
      text += fmt::format("\\x{:02x}", c);
  }
  return text;
}

std::string hex(std::string_view bytes) {
  std::string text;
  for (unsigned char c : bytes) text += fmt::format("{:02x}", c);
  return text;
}

// flag_names names the bits of flags that type defines (RFC 9113 §6), others as hex.
std::vector<std::string> flag_names(std::uint8_t type, std::uint8_t flags) {
  struct Named {
    std::uint8_t bit;
    const char* name;
  };
  std::vector<Named> known;
  switch (type) {
    case Data:
      known = {{EndStream, "END_STREAM"}, {Padded, "PADDED"}};
      break;
    case Headers:
      known = {{EndStream, "END_STREAM"}, {EndHeaders, "END_HEADERS"}, {Padded, "PADDED"}, {PriorityFlag, "PRIORITY"}};
      break;
    case Settings:
    case Ping:
      known = {{Ack, "ACK"}};
      break;
    case PushPromise:
      known = {{EndHeaders, "END_HEADERS"}, {Padded, "PADDED"}};
      break;
    case Continuation:
      known = {{EndHeaders, "END_HEADERS"}};
      break;
    default:
      break;
  }
  std::vector<std::string> names;
  for (unsigned bit = 1; bit <= 0x80; bit <<= 1) {
    if ((flags & bit) == 0) continue;
    auto it = std::find_if(known.begin(), known.end(), [&](const Named& n) { return n.bit == bit; });
    names.push_back(it != known.end() ? std::string(it->name) : fmt::format("0x{:02x}", bit));
  }
  return names;
}

std::string error_code_text(std::uint32_t code) { return fmt::format("{} (0x{:x})", h2_error_name(code), code); }

void add(H2TraceFrame& f, std::string name, std::string value) {
  f.fields.push_back({std::move(name), std::move(value)});
}

struct InflaterDeleter {
  void operator()(nghttp2_hd_inflater* p) const { nghttp2_hd_inflate_del(p); }
};

}  // namespace

struct H2FrameDecoder::Impl {
  bool sent;
  std::size_t preface_left;  // bytes of the client preface still expected
  std::string preface_seen;
  std::string pending;   // the frame being assembled: header, then payload (not for DATA)
  std::size_t skip = 0;  // DATA payload bytes still to pass over
  std::unique_ptr<nghttp2_hd_inflater, InflaterDeleter> inflater;
  bool hpack_broken = false;
  std::size_t block_bytes = 0;  // decoded bytes of the header block in progress
  bool block_truncated = false;

  Impl(bool s, bool client_preface) : sent(s), preface_left(client_preface ? kPreface.size() : 0) {
    nghttp2_hd_inflater* raw = nullptr;
    if (nghttp2_hd_inflate_new(&raw) != 0) throw std::bad_alloc();
    inflater.reset(raw);
  }

  void feed(std::string_view bytes, std::vector<H2TraceFrame>& out) {
    auto take = [&](std::size_t n) {
      n = std::min(n, bytes.size());
      pending.append(bytes.substr(0, n));
      bytes.remove_prefix(n);
    };
    for (;;) {
      if (preface_left > 0) {
        if (bytes.empty()) return;
        auto n = std::min(preface_left, bytes.size());
        preface_seen.append(bytes.substr(0, n));
        bytes.remove_prefix(n);
        preface_left -= n;
        if (preface_left == 0) {
          H2TraceFrame f{.sent = sent, .type = "preface", .length = kPreface.size()};
          if (preface_seen != kPreface)
            add(f, "error", fmt::format("not the HTTP/2 client preface: \"{}\"", escape(preface_seen)));
          out.push_back(std::move(f));
        }
        continue;
      }
      if (skip > 0) {
        if (bytes.empty()) return;
        auto n = std::min(skip, bytes.size());
        bytes.remove_prefix(n);
        skip -= n;
        continue;
      }
      if (pending.size() < kFrameHeader) {
        if (bytes.empty()) return;
        take(kFrameHeader - pending.size());
        continue;
      }
      // A DATA frame is shown once its header and pad length are in; its payload is passed over.
      bool data = type() == Data;
      std::size_t needed =
          kFrameHeader + (data ? ((flags() & Padded) != 0 && payload_length() > 0 ? 1 : 0) : payload_length());
      if (pending.size() < needed) {
        if (bytes.empty()) return;
        take(needed - pending.size());
        continue;
      }
      out.push_back(data ? decode_data() : decode());
      if (data) skip = payload_length() - (pending.size() - kFrameHeader);
      pending.clear();
    }
  }

  [[nodiscard]] std::size_t payload_length() const {
    return static_cast<std::size_t>(static_cast<unsigned char>(pending[0])) << 16 |
           static_cast<std::size_t>(static_cast<unsigned char>(pending[1])) << 8 |
           static_cast<unsigned char>(pending[2]);
  }
  [[nodiscard]] std::uint8_t type() const { return static_cast<std::uint8_t>(pending[3]); }
  [[nodiscard]] std::uint8_t flags() const { return static_cast<std::uint8_t>(pending[4]); }

  H2TraceFrame head() const {
    H2TraceFrame f;
    f.sent = sent;
    f.type = h2_frame_type_name(type());
    f.flag_bits = flags();
    f.flags = flag_names(type(), flags());
    f.length = payload_length();
    std::uint32_t id = 0;
    WireReader r(std::string_view(pending).substr(5, 4));
    (void)r.u32(id);
    f.stream = id & 0x7fffffffu;
    return f;
  }

  H2TraceFrame decode_data() const {
    auto f = head();
    std::size_t pad = 0;
    if (f.flag_bits & Padded) {
      if (f.length == 0) {
        add(f, "error", "a PADDED frame without its pad length");
        return f;
      }
      pad = static_cast<unsigned char>(pending[kFrameHeader]);
      add(f, "padding", std::to_string(pad));
      if (pad + 1 > f.length) {
        add(f, "error", fmt::format("{} bytes of padding in a payload of {}", pad, f.length));
        return f;
      }
    }
    add(f, "data", fmt::format("{} bytes", f.length - pad - ((f.flag_bits & Padded) ? 1 : 0)));
    return f;
  }

  H2TraceFrame decode() {
    auto f = head();
    WireReader r(std::string_view(pending).substr(kFrameHeader));
    auto fixed = [&](std::size_t size) {
      if (f.length == size) return true;
      add(f, "error", fmt::format("a {} frame must be {} bytes, not {}", f.type, size, f.length));
      return false;
    };
    switch (type()) {
      case Headers:
      case PushPromise: {
        std::string_view block;
        if (!unpad(f, r, block)) break;
        WireReader b(block);
        if (type() == Headers && (f.flag_bits & PriorityFlag) && !priority(f, b)) break;
        if (type() == PushPromise) {
          std::uint32_t promised = 0;
          if (!b.u32(promised)) {
            add(f, "error", "truncated promised stream id");
            break;
          }
          add(f, "promised_stream", std::to_string(promised & 0x7fffffffu));
        }
        inflate(f, b.rest(), (f.flag_bits & EndHeaders) != 0);
        break;
      }
      case Continuation:
        inflate(f, r.rest(), (f.flag_bits & EndHeaders) != 0);
        break;
      case Priority:
        if (fixed(5)) (void)priority(f, r);
        break;
      case RstStream: {
        std::uint32_t code = 0;
        if (fixed(4) && r.u32(code)) add(f, "error_code", error_code_text(code));
        break;
      }
      case Settings:
        if (f.length % 6 != 0) {
          add(f, "error", fmt::format("a SETTINGS payload is a multiple of 6 bytes, not {}", f.length));
          break;
        }
        for (std::uint16_t id = 0; r.u16(id);) {
          std::uint32_t value = 0;
          (void)r.u32(value);
          add(f, h2_setting_name(id), std::to_string(value));
        }
        break;
      case Ping:
        if (fixed(8)) add(f, "opaque_data", hex(r.rest()));
        break;
      case Goaway: {
        std::uint32_t last = 0, code = 0;
        if (!r.u32(last) || !r.u32(code)) {
          add(f, "error", fmt::format("a GOAWAY frame is at least 8 bytes, not {}", f.length));
          break;
        }
        add(f, "last_stream_id", std::to_string(last & 0x7fffffffu));
        add(f, "error_code", error_code_text(code));
        if (!r.empty()) add(f, "debug_data", escape(r.rest()));
        break;
      }
      case WindowUpdate: {
        std::uint32_t increment = 0;
        if (fixed(4) && r.u32(increment)) add(f, "window_size_increment", std::to_string(increment & 0x7fffffffu));
        break;
      }
      default:
        break;
    }
    return f;
  }

  // unpad takes a PADDED payload's pad length and padding off; false (with an error) when they
  // do not fit.
  static bool unpad(H2TraceFrame& f, WireReader& r, std::string_view& rest) {
    if ((f.flag_bits & Padded) == 0) {
      rest = r.rest();
      return true;
    }
    std::uint8_t pad = 0;
    if (!r.u8(pad)) {
      add(f, "error", "a PADDED frame without its pad length");
      return false;
    }
    add(f, "padding", std::to_string(pad));
    if (pad > r.remaining()) {
      add(f, "error", fmt::format("{} bytes of padding in a payload of {}", pad, f.length));
      return false;
    }
    rest = r.rest().substr(0, r.remaining() - pad);
    return true;
  }

  static bool priority(H2TraceFrame& f, WireReader& r) {
    std::uint32_t dependency = 0;
    std::uint8_t weight = 0;
    if (!r.u32(dependency) || !r.u8(weight)) {
      add(f, "error", "truncated priority");
      return false;
    }
    add(f, "priority",
        fmt::format("depends on stream {}{}, weight {}", dependency & 0x7fffffffu,
                    (dependency & 0x80000000u) ? " (exclusive)" : "", weight + 1));
    return true;
  }

  // inflate decodes a header block fragment into f.headers; final: END_HEADERS, the block ends.
  void inflate(H2TraceFrame& f, std::string_view block, bool final) {
    add(f, "header_block", fmt::format("{} bytes", block.size()));
    if (hpack_broken) {
      add(f, "error", "not decoded: an earlier header block of this direction failed to decode");
      return;
    }
    const auto* in = reinterpret_cast<const std::uint8_t*>(block.data());
    std::size_t left = block.size();
    for (;;) {
      nghttp2_nv nv{};
      int inflate_flags = 0;
      auto used = nghttp2_hd_inflate_hd2(inflater.get(), &nv, &inflate_flags, in, left, final ? 1 : 0);
      if (used < 0) {
        hpack_broken = true;
        add(f, "error", fmt::format("HPACK: {}", nghttp2_strerror(static_cast<int>(used))));
        return;
      }
      in += used;
      left -= static_cast<std::size_t>(used);
      if (inflate_flags & NGHTTP2_HD_INFLATE_EMIT) {
        block_bytes += nv.namelen + nv.valuelen + 32;
        if (block_bytes <= kMaxDecodedBlock) {
          f.headers.push_back({escape(std::string_view(reinterpret_cast<const char*>(nv.name), nv.namelen)),
                               escape(std::string_view(reinterpret_cast<const char*>(nv.value), nv.valuelen))});
        } else if (!block_truncated) {
          block_truncated = true;
          add(f, "error",
              fmt::format("the header block decodes to more than {} bytes; the rest is not shown", kMaxDecodedBlock));
        }
      }
      if (inflate_flags & NGHTTP2_HD_INFLATE_FINAL) {
        nghttp2_hd_inflate_end_headers(inflater.get());
        block_bytes = 0;
        block_truncated = false;
        return;
      }
      if ((inflate_flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && left == 0) {
        if (final) {
          hpack_broken = true;
          add(f, "error", "HPACK: the header block ends in the middle of a field");
        }
        return;
      }
    }
  }
};

H2FrameDecoder::H2FrameDecoder(bool sent, bool client_preface) : impl_(std::make_unique<Impl>(sent, client_preface)) {}

H2FrameDecoder::~H2FrameDecoder() = default;

void H2FrameDecoder::feed(std::string_view bytes, std::vector<H2TraceFrame>& out) { impl_->feed(bytes, out); }

std::string h2_frame_type_name(std::uint8_t type) {
  // RFC 9113 §6, RFC 7838 (ALTSVC), RFC 8336 (ORIGIN), RFC 9218 (PRIORITY_UPDATE).
  static constexpr std::array<const char*, 10> core = {"DATA",          "HEADERS",      "PRIORITY", "RST_STREAM",
                                                       "SETTINGS",      "PUSH_PROMISE", "PING",     "GOAWAY",
                                                       "WINDOW_UPDATE", "CONTINUATION"};
  if (type < core.size()) return core[type];
  if (type == 0x0a) return "ALTSVC";
  if (type == 0x0c) return "ORIGIN";
  if (type == 0x10) return "PRIORITY_UPDATE";
  return fmt::format("unknown (0x{:02x})", type);
}

std::string h2_setting_name(std::uint16_t id) {
  // RFC 9113 §6.5.2, RFC 8441 (ENABLE_CONNECT_PROTOCOL), RFC 9218 (NO_RFC7540_PRIORITIES).
  static constexpr std::array<const char*, 10> names = {
      nullptr,          "HEADER_TABLE_SIZE",    "ENABLE_PUSH", "MAX_CONCURRENT_STREAMS",  "INITIAL_WINDOW_SIZE",
      "MAX_FRAME_SIZE", "MAX_HEADER_LIST_SIZE", nullptr,       "ENABLE_CONNECT_PROTOCOL", "NO_RFC7540_PRIORITIES"};
  if (id < names.size() && names[id] != nullptr) return names[id];
  return fmt::format("unknown (0x{:04x})", id);
}

}  // namespace tlslab::http
