// libFuzzer harness for http::H2Session in the server role: bytes a hostile client chose, fed in
// two pieces split where the first byte says, to a session whose owner answers every request
// (a 103, then a response with a body and trailers), consumes some of what it receives, resets
// some streams, and takes the output after each piece. The seeds begin with a valid client
// preface so the fuzzer reaches the frames.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/h2_session.hpp"

namespace {

using tlslab::http::H2Fields;
using tlslab::http::H2Session;

struct Owner : tlslab::http::H2Listener {
  H2Session* session = nullptr;
  std::uint8_t knob = 0;
  void on_headers(std::int32_t stream, H2Fields fields, bool end_stream) override {
    (void)fields;
    if (knob & 1) (void)session->submit_response(stream, {{":status", "103"}}, false);
    (void)session->submit_response(stream, {{":status", "200"}}, end_stream && (knob & 2));
    session->send_data(stream, std::string(knob * 97u, 'x'));
    if (knob & 4)
      session->send_trailers(stream, {{"x-trailer", "1"}});
    else
      session->end_stream(stream);
  }
  void on_trailers(std::int32_t, H2Fields) override {}
  void on_data(std::int32_t stream, std::string_view bytes) override {
    if (knob & 8) session->consume(stream, bytes.size());
    if ((knob & 16) && bytes.size() > 100) session->reset(stream, 8);
  }
  void on_end_stream(std::int32_t) override {}
  void on_stream_closed(std::int32_t, std::uint32_t, bool) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Owner owner;
  owner.knob = size > 0 ? data[size - 1] : 0;
  H2Session session(H2Session::Role::Server, owner,
                    {.initial_window_size = 4096,
                     .connection_window_size = 8192,
                     .max_header_list_size = 2048,
                     .max_resets_per_second = 20,
                     .max_control_per_second = 50});
  owner.session = &session;
  std::size_t split = size > 1 ? data[0] % size : size;
  std::string out;
  for (auto piece : {bytes.substr(0, split), bytes.substr(split)}) {
    if (!session.receive(piece)) break;
    out.clear();
    while (session.take_output(out, 16384)) out.clear();
  }
  (void)session.take_output(out);
  (void)session.open_streams();
  (void)session.queued_total();
  return 0;
}
