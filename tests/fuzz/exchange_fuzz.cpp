// libFuzzer harness for proxy::Exchange, the HTTP layer between an intercepted client and the
// real server: the first byte picks the legs (HTTP/1.1 or HTTP/2 on each) and where the input is
// split; the rest is what a hostile client sends, with a scripted server that answers whatever
// reaches it (an HTTP/1.1 response, or a valid HTTP/2 server preface and answers made by a real
// H2Session). The proxy's outputs are taken after every piece, as the executor does, and the
// upstream's bytes are fed back; every Flow is checked for times that never run backwards.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/h2_session.hpp"
#include "proxy/exchange.hpp"

namespace {

using tlslab::http::H2Fields;
using tlslab::http::H2Session;
using tlslab::proxy::Exchange;
using tlslab::proxy::HttpProtocol;

// An HTTP/2 server for the upstream leg: answers every request with a small body.
struct H2Server : tlslab::http::H2Listener {
  H2Session session{H2Session::Role::Server, *this};
  void on_headers(std::int32_t stream, H2Fields, bool) override {
    (void)session.submit_response(stream, {{":status", "200"}, {"content-type", "text/plain"}}, false);
    session.send_data(stream, "answer");
    session.end_stream(stream);
  }
  void on_trailers(std::int32_t, H2Fields) override {}
  void on_data(std::int32_t stream, std::string_view bytes) override { session.consume(stream, bytes.size()); }
  void on_end_stream(std::int32_t) override {}
  void on_stream_closed(std::int32_t, std::uint32_t, bool) override {}
};

void check(const tlslab::proxy::Flow& f) {
  if (f.response_done_ms != 0 && f.response_done_ms < f.started_ms) std::abort();
  if (f.status != 0 && f.status < 100) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  auto knob = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  auto client_leg = (knob & 1) ? HttpProtocol::Http2 : HttpProtocol::Http1;
  auto upstream_leg = (knob & 2) ? HttpProtocol::Http2 : HttpProtocol::Http1;
  tlslab::proxy::ExchangeOptions options;
  options.host = "www.bank32.com";
  options.leg_buffer = 64 * 1024;
  Exchange ex(client_leg, upstream_leg, options, [](tlslab::proxy::Flow&& f) { check(f); });
  H2Server h2;
  auto serve_upstream = [&](double now) {
    std::string out;
    for (int round = 0; round < 8; ++round) {
      out.clear();
      if (!ex.take_upstream_output(out)) break;
      if (upstream_leg == HttpProtocol::Http2) {
        if (!h2.session.receive(out)) break;
        std::string answer;
        if (h2.session.take_output(answer)) ex.upstream_data(answer, now);
      } else if (out.find("\r\n\r\n") != std::string::npos) {
        ex.upstream_data("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nanswer", now);
      }
    }
    std::string drained;
    while (ex.take_client_output(drained)) drained.clear();
  };
  // The server speaks first on an HTTP/2 leg (its SETTINGS).
  if (upstream_leg == HttpProtocol::Http2) {
    std::string preface;
    if (h2.session.take_output(preface)) ex.upstream_data(preface, 1);
  }
  std::size_t split = input.empty() ? 0 : (knob >> 2) % (input.size() + 1);
  double now = 1000;
  for (auto piece : {input.substr(0, split), input.substr(split)}) {
    if (piece.empty() || !ex.wants_client_data()) continue;
    ex.client_data(piece, now += 1);
    serve_upstream(now);
  }
  if (knob & 0x80) ex.upstream_closed(false, now + 1);
  ex.client_closed(true, now + 2);
  serve_upstream(now + 3);
  return 0;
}
