// libFuzzer harness for http::H2FrameDecoder (connect --trace's reader of HTTP/2 frames): hostile
// bytes fed in pieces of a size the first byte chooses, to a decoder that expects the client
// preface or not (the first byte's low bit). Every field of every frame is read back, so a value
// pointing at freed or foreign memory is caught. Seeds: tests/fuzz/corpus/h2_frames/README.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/h2_frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool preface = (data[0] & 1) != 0;
  std::size_t step = data[0] >> 1;
  if (step == 0) step = bytes.size() + 1;
  tlslab::http::H2FrameDecoder decoder(preface, preface);
  std::vector<tlslab::http::H2TraceFrame> frames;
  for (std::size_t i = 0; i < bytes.size(); i += step) decoder.feed(bytes.substr(i, step), frames);
  volatile std::size_t sink = 0;
  for (const auto& f : frames) {
    sink = sink + f.type.size() + f.length + f.stream;
    for (const auto& flag : f.flags) sink = sink + flag.size();
    for (const auto& x : f.fields) sink = sink + x.name.size() + x.value.size();
    for (const auto& x : f.headers) sink = sink + x.name.size() + x.value.size();
  }
  (void)sink;
  return 0;
}
