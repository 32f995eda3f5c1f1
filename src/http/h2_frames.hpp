// http::H2FrameDecoder — a readable decoding of the HTTP/2 frames one side of a connection sent
// (RFC 9113 §4 and §6), for `tlslab connect --trace`: type, stream, flags, length, the fields of
// each frame type, and header blocks decoded with HPACK (nghttp2's inflater).
//
// The bytes are the decrypted stream of one direction, fed as they pass in any split. nghttp2
// reads the same bytes for the session but has no public way to describe raw frames, so the frame
// header and payloads are read here, through tls::WireReader, and treated as hostile: a length is
// never trusted, malformed payloads add an "error" field after what was decoded, nothing is thrown
// for any input, and nothing beyond one frame (at most 16 MiB, the protocol's limit) is buffered;
// DATA payloads are counted, not kept. Text the peer chose is escaped for the terminal (\xNN).
// Fuzzed by tests/fuzz/h2_frames_fuzz.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/h2_session.hpp"

namespace tlslab::http {

struct H2TraceFrame {
  bool sent = false;  // our frame (true) or the peer's
  std::string type;   // "DATA", "HEADERS", ..., "unknown (0x20)"; "preface" for the client preface
  std::uint32_t stream = 0;
  std::uint8_t flag_bits = 0;
  std::vector<std::string> flags;  // {"END_STREAM", "END_HEADERS"}; bits the type does not define as "0x40"
  std::size_t length = 0;          // payload length from the frame header (24 for the preface)
  H2Fields fields;                 // per type, in wire order: "padding", "error_code", "MAX_FRAME_SIZE", ..., "error"
  H2Fields headers;                // the header block's fields, decoded (HEADERS, PUSH_PROMISE, CONTINUATION)
};

class H2FrameDecoder {
 public:
  // sent: the frames are ours (they start with the client preface when client_preface is true).
  explicit H2FrameDecoder(bool sent, bool client_preface = false);
  ~H2FrameDecoder();
  H2FrameDecoder(const H2FrameDecoder&) = delete;
  H2FrameDecoder& operator=(const H2FrameDecoder&) = delete;

  // feed reads the next bytes of this direction and appends every frame they complete to out
  // (a DATA frame as soon as its header, and its pad length, are in).
  void feed(std::string_view bytes, std::vector<H2TraceFrame>& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// h2_frame_type_name names a frame type ("WINDOW_UPDATE"; "unknown (0x20)").
[[nodiscard]] std::string h2_frame_type_name(std::uint8_t type);
// h2_setting_name names a SETTINGS parameter as RFC 9113 §6.5.2 does, without the SETTINGS_
// prefix ("MAX_CONCURRENT_STREAMS"; "unknown (0x00ff)").
[[nodiscard]] std::string h2_setting_name(std::uint16_t id);

}  // namespace tlslab::http
