// libFuzzer harness for connect's HTTP/2 exchange (make_h2_exchange): the bytes a hostile server
// chose, fed in pieces of a size the second byte chooses, with our output taken between pieces as
// the driver does. The first byte picks the request's knobs: a --max-filesize limit, HEAD, a sink
// that fails, --trace (so the frame decoder reads the server's bytes too). Failures are expected
// (Failure); anything else, or a crash, is a bug. Seeds: tests/fuzz/corpus/h2_client/README.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/failure.hpp"
#include "http/h2_client_exchange.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t knobs = data[0];
  std::size_t step = data[1];
  std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (step == 0) step = bytes.size() + 1;
  tlslab::http::RequestSpec spec{.method = (knobs & 2) ? "HEAD" : "GET", .target = "/", .host = "example.com"};
  if (knobs & 16) spec.method = "POST", spec.body = std::string(70000, 'b');
  std::size_t received = 0;
  auto sink = [&](std::string_view d) {
    received += d.size();
    if ((knobs & 4) && received > 100) throw tlslab::Failure(tlslab::Kind::Write, "disk full");
  };
  std::optional<std::uint64_t> limit;
  if (knobs & 1) limit = 1000;
  auto exchange = tlslab::http::make_h2_exchange(spec, sink, limit, (knobs & 2) != 0, (knobs & 8) != 0);
  std::string out;
  try {
    (void)exchange->take_output(out);
    for (std::size_t i = 0; i < bytes.size() && !exchange->done(); i += step) {
      exchange->feed(bytes.substr(i, step));
      out.clear();
      (void)exchange->take_output(out);
    }
    exchange->finish_eof();
  } catch (const tlslab::Failure&) {
  }
  auto info = exchange->info();
  std::vector<tlslab::http::H2TraceFrame> frames;
  exchange->take_frames(frames);
  volatile std::size_t touched = info.headers.size() + info.trailers.size() + frames.size() + info.body_sha256.size();
  (void)touched;
  return 0;
}
