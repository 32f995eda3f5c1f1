// How trace_fuzz.cpp reads its input, shared with the tool that writes its seed corpus
// (tests/fuzz/write_seeds.cpp) so the two cannot drift apart.
//
// A selector byte names a direction and a content type: bits 0-2 index kContentTypes, bit 3 means
// Received. An input is either one message — a selector, then the message bytes; bits 4-6 of the
// selector index kContexts, the negotiation to decode it in — or, when its first byte has
// kSequenceFlag, a sequence of frames for one Tracer: selector, 2-byte big-endian length, that
// many bytes (a short last frame takes what is left).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "tls/trace.hpp"

namespace tlslab::fuzz {

// The content types a selector can name: the four of TLS, heartbeat, OpenSSL's two pseudo types
// (record header, inner content type), and one nobody defined.
inline constexpr std::array<int, 8> kContentTypes = {22, 21, 20, 23, 24, 256, 257, 99};
inline constexpr std::uint8_t kSequenceFlag = 0x80;

// The contexts a single message is decoded in: none (formats guessed), then each era with a
// cipher suite of each key exchange (ECDHE, DHE, RSA, PSK).
inline constexpr std::array<tls::TraceContext, 8> kContexts = {{{0, 0},
                                                                {0x0303, 0xC02B},
                                                                {0x0303, 0x009E},
                                                                {0x0303, 0x009C},
                                                                {0x0303, 0x00A8},
                                                                {0x0304, 0x1301},
                                                                {0x0301, 0xC013},
                                                                {0x0302, 0x0033}}};

struct TraceInput {
  tls::Direction direction = tls::Direction::Sent;
  int content_type = 22;
  std::string_view bytes;
  tls::TraceContext context;  // single messages only
};

// selector returns the byte naming direction and content_type (unknown types name entry 7).
inline std::uint8_t selector(tls::Direction direction, int content_type) {
  std::uint8_t index = 7;
  for (std::uint8_t i = 0; i < kContentTypes.size(); ++i)
    if (kContentTypes[i] == content_type) index = i;
  return static_cast<std::uint8_t>(index | (direction == tls::Direction::Received ? 0x08 : 0));
}

// input returns the message a selector byte and its bytes stand for.
inline TraceInput input(std::uint8_t selector_byte, std::string_view bytes) {
  return {selector_byte & 0x08 ? tls::Direction::Received : tls::Direction::Sent, kContentTypes[selector_byte & 0x07],
          bytes, kContexts[(selector_byte >> 4) & 0x07]};
}

// append_frame adds one message to a sequence input (bytes beyond 65535 are cut).
inline void append_frame(std::string& out, tls::Direction direction, int content_type, std::string_view bytes) {
  bytes = bytes.substr(0, 0xFFFF);
  out += static_cast<char>(selector(direction, content_type));
  out += static_cast<char>(bytes.size() >> 8);
  out += static_cast<char>(bytes.size() & 0xFF);
  out += bytes;
}

// for_each_frame calls f(TraceInput) for each frame of a sequence input (after its flag byte).
template <class F>
void for_each_frame(std::string_view frames, F&& f) {
  while (frames.size() >= 3) {
    auto sel = static_cast<std::uint8_t>(frames[0]);
    std::size_t length = static_cast<unsigned char>(frames[1]) << 8 | static_cast<unsigned char>(frames[2]);
    frames.remove_prefix(3);
    std::string_view bytes = frames.substr(0, length);
    frames.remove_prefix(bytes.size());
    f(input(sel, bytes));
  }
}

}  // namespace tlslab::fuzz
