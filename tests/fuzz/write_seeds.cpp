// write_seeds writes the seed corpora of the fuzz harnesses that are made from in-memory sessions:
// trace (real handshakes), h2_session (what a client session sends), h2_client and h2_frames (both
// directions of connect's HTTP/2 exchange). Built with the tests; not a test.
// Usage: fuzz_seeds CORPUS   (tests/fuzz/corpus: writes CORPUS/trace, h2_session, h2_client, h2_frames)
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/failure.hpp"
#include "fuzz/trace_input.hpp"
#include "unit/http/h2_exchange_samples.hpp"
#include "unit/http/h2_session_samples.hpp"
#include "unit/tls/trace_samples.hpp"

namespace tlslab {
namespace {
namespace fs = std::filesystem;

bool failed = false;

void fail(const std::string& message) {
  std::fprintf(stderr, "fuzz_seeds: %s\n", message.c_str());
  failed = true;
}

// trace_seeds: each handshake message of three real handshakes alone (its selector byte first), each
// handshake as one sequence, and a browser-shaped ClientHello.
void trace_seeds(const fs::path& folder) {
  using namespace tls;
  using namespace tls::sample;
  fs::create_directories(folder);
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(folder / name, std::ios::binary) << bytes;
  };
  std::map<std::string, std::vector<RecordedMessage>> logs = {
      {"tls13", tls13_log()},
      {"tls12", tls12_log()},
      {"tls13_client_auth",
       client_log(client_setup(TLS1_3_VERSION, use_client_certificate), server_setup(require_client_certificate))}};
  for (const auto& [name, log] : logs) {
    std::string sequence(1, static_cast<char>(fuzz::kSequenceFlag));
    for (const auto& m : log) {
      fuzz::append_frame(sequence, direction(m), m.content_type, m.bytes);
      auto message = decode_message(direction(m), m.content_type, m.bytes);
      if (m.content_type == SSL3_RT_HANDSHAKE)
        write(name + "_" + message.type, static_cast<char>(fuzz::selector(direction(m), m.content_type)) + m.bytes);
    }
    write(name + "_sequence", sequence);
  }
  write("browser_ClientHello",
        static_cast<char>(fuzz::selector(Direction::Received, SSL3_RT_HANDSHAKE)) + browser_hello());
}

// h2_session_seeds: whole client connections, each checked to reach a server session's frames.
void h2_session_seeds(const fs::path& folder) {
  using namespace http;
  using namespace http::session_sample;
  fs::create_directories(folder);
  auto write = [&](const std::string& name, const std::string& bytes) {
    Recorder rec;
    H2Session server(H2Session::Role::Server, rec);
    rec.session = &server;
    if (!server.receive(bytes)) fail("h2_session/" + name + ": a server session refuses it: " + server.error());
    std::ofstream(folder / name, std::ios::binary) << bytes;
  };
  auto client_bytes = [](const std::function<void(H2Session&)>& script) {
    Recorder rec;
    H2Session client(H2Session::Role::Client, rec);
    rec.session = &client;
    script(client);
    return drain(client);
  };
  write("get", client_bytes([](H2Session& c) { (void)c.submit_request(request(), true); }));
  write("post_with_body", client_bytes([](H2Session& c) {
          auto id = c.submit_request(request("POST", "/form"), false);
          c.send_data(id, "name=value&other=1");
          c.end_stream(id);
        }));
  write("post_with_trailers", client_bytes([](H2Session& c) {
          auto id = c.submit_request(request("POST", "/grpc"), false);
          c.send_data(id, pattern(3000));
          c.send_trailers(id, {{"x-checksum", "abc"}});
        }));
  write("streams_and_reset", client_bytes([](H2Session& c) {
          for (int i = 0; i < 4; ++i) (void)c.submit_request(request("GET", "/" + std::to_string(i)), true);
          auto id = c.submit_request(request("POST"), false);
          c.send_data(id, "partial");
          c.reset(id, kCancel);
        }));
  const std::string start = kPreface + frame(kSettings, 0, 0, "");
  write("control_frames", start + frame(kPing, 0, 0, "12345678") + frame(kSettings, kAck, 0, "") +
                              frame(8, 0, 0, be32(1000)) + frame(kGoaway, 0, 0, be32(0) + be32(0) + "bye"));
  write("continuation", start + frame(kHeaders, 0, 1, hpack_request().substr(0, 3)) +
                            frame(kContinuation, kEndHeaders | kEndStream, 1, hpack_request().substr(3)));
  // PADDED and PRIORITY flags: pad length 2, then a priority block (dependency 0, weight 16).
  write("padded_priority", start +
                               frame(kHeaders, kEndHeaders | 0x08 | 0x20, 1,
                                     std::string("\x02") + be32(0) + "\x10" + hpack_request() + std::string(2, '\0')) +
                               frame(kData, kEndStream | 0x08, 1, std::string("\x01") + "body" + std::string(1, '\0')));
}

// h2_exchange_seeds: what each side of connect's HTTP/2 exchange sent, for h2_client (the
// server's bytes after a knobs and a split byte) and h2_frames (either side after its role byte).
void h2_exchange_seeds(const fs::path& root) {
  using namespace http;
  using namespace http::exchange_sample;
  auto write = [&](const std::string& folder, const std::string& name, const std::string& bytes) {
    std::filesystem::create_directories(root / folder);
    std::ofstream(root / folder / name, std::ios::binary) << bytes;
  };
  struct Case {
    std::string name;
    RequestSpec spec;
    std::function<void(H2Session&, std::int32_t)> respond;
    char knobs;
  };
  auto post = get("/form");
  post.method = "POST";
  post.body = "name=value";
  std::vector<Case> cases = {
      {"get", get(),
       [](H2Session& s, std::int32_t id) {
         (void)s.submit_response(id, {{":status", "200"}, {"content-length", "3000"}}, false);
         s.send_data(id, pattern(3000));
         s.end_stream(id);
       },
       8},
      {"post_trailers", post,
       [](H2Session& s, std::int32_t id) {
         (void)s.submit_response(id, status("100"), false);
         (void)s.submit_response(id, status("200"), false);
         s.send_data(id, "ok");
         s.send_trailers(id, {{"x-checksum", "abc"}});
       },
       8},
      {"reset", get(), [](H2Session& s, std::int32_t id) { s.reset(id, kRefusedStream); }, 0},
      {"goaway", get(), [](H2Session& s, std::int32_t) { s.goaway(0); }, 0},
  };
  for (auto& c : cases) {
    Talk talk(c.spec, {}, false);
    talk.server.respond = [&](std::int32_t id) { c.respond(talk.server.session, id); };
    try {
      talk.run();
    } catch (const Failure&) {
    }
    write("h2_client", c.name, std::string{c.knobs, 0} + talk.from_server);
    write("h2_frames", "server_" + c.name, std::string(1, '\0') + talk.from_server);
    write("h2_frames", "client_" + c.name, std::string(1, '\1') + talk.from_client);
  }
}

}  // namespace
}  // namespace tlslab

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds CORPUS   (tests/fuzz/corpus)\n");
    return 2;
  }
  const std::filesystem::path corpus = argv[1];
  tlslab::trace_seeds(corpus / "trace");
  tlslab::h2_session_seeds(corpus / "h2_session");
  tlslab::h2_exchange_seeds(corpus);
  // The shared peers check themselves with gtest's EXPECT; outside a test those land here.
  if (::testing::UnitTest::GetInstance()->ad_hoc_test_result().Failed()) tlslab::failed = true;
  return tlslab::failed ? 1 : 0;
}
