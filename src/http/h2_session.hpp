// http::H2Session — one HTTP/2 connection's protocol state over nghttp2, without I/O: the peer's
// bytes go in (receive), the bytes to send come out (take_output), and what happened is told to
// an H2Listener. The proxy's two legs (proxy::Exchange) use it, as serve and connect will.
//
// Flow control is manual: received DATA is acknowledged to the peer (WINDOW_UPDATE) only when the
// owner calls consume(), so a consumer that cannot pass bytes on holds the peer's window shut
// instead of buffering. Outgoing bodies are queued per stream (send_data) and framed as the peer's
// window allows; on_data_sent tells the owner as queued bytes leave.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlslab::http {

// A header field as it travels in HTTP/2: lower-case name, pseudo-header fields (":method",
// ":status", ...) first.
struct H2Field {
  std::string name;
  std::string value;
  bool operator==(const H2Field&) const = default;
};
using H2Fields = std::vector<H2Field>;

// What this end announces in its SETTINGS, and limits it enforces.
struct H2Settings {
  std::uint32_t max_concurrent_streams = 100;
  std::uint32_t initial_window_size = 1 << 20;      // per stream: bytes the peer may send before consume()
  std::uint32_t connection_window_size = 16 << 20;  // the whole connection
  std::uint32_t max_header_list_size = 64 * 1024;   // decoded header bytes per block (HPACK bomb guard)
  // Abuse limits, per connection: beyond them the session ends with GOAWAY(ENHANCE_YOUR_CALM).
  std::uint32_t max_resets_per_second = 200;    // streams reset by the peer (rapid reset, CVE-2023-44487)
  std::uint32_t max_control_per_second = 1000;  // SETTINGS and PING frames from the peer
};

// The peer's SETTINGS as last received.
struct H2PeerSettings {
  std::uint32_t max_concurrent_streams = 0xffffffffu;
  std::uint32_t initial_window_size = 65535;
  std::uint32_t max_frame_size = 16384;
  std::uint32_t max_header_list_size = 0xffffffffu;
  bool enable_push = true;
  bool enable_connect_protocol = false;
  // The entries of the peer's last SETTINGS frame as sent, in its order (id, value); the fields
  // above are the values in force, defaults included.
  std::vector<std::pair<std::uint16_t, std::uint32_t>> entries;
};

class H2Listener {
 public:
  virtual ~H2Listener() = default;
  // A header block that opens a message: a request (server role) or a response (client role; 1xx
  // informational responses come here too, with end_stream false).
  virtual void on_headers(std::int32_t stream, H2Fields fields, bool end_stream) = 0;
  // Trailers: a header block after the body; it ends the peer's half of the stream.
  virtual void on_trailers(std::int32_t stream, H2Fields fields) = 0;
  // Body bytes; hand them on, then consume(stream, bytes.size()) to reopen the peer's window.
  virtual void on_data(std::int32_t stream, std::string_view bytes) = 0;
  // The peer ended its half of the stream (END_STREAM on DATA; not called after on_trailers or
  // for a header block with end_stream true).
  virtual void on_end_stream(std::int32_t stream) = 0;
  // The stream is gone: error_code is 0 after a normal end, else the RST_STREAM code (sent or
  // received; reset_by_peer tells which). Called once per stream that was opened.
  virtual void on_stream_closed(std::int32_t stream, std::uint32_t error_code, bool reset_by_peer) = 0;
  // The peer sent GOAWAY: streams above last_stream will not be processed.
  virtual void on_goaway(std::int32_t last_stream, std::uint32_t error_code) { (void)last_stream, (void)error_code; }
  // The peer's SETTINGS arrived (peer_settings() has them).
  virtual void on_settings() {}
  // Queued body bytes of a stream left the queue for the wire.
  virtual void on_data_sent(std::int32_t stream, std::size_t bytes) { (void)stream, (void)bytes; }
  // This end's half of the stream ended: a frame with END_STREAM (HEADERS, DATA or trailers) left
  // for the wire.
  virtual void on_end_sent(std::int32_t stream) { (void)stream; }
};

class H2Session {
 public:
  enum class Role { Server, Client };
  // A server session expects the client's connection preface; a client session sends its own.
  // Both queue their SETTINGS at once (take_output has them). A client always announces
  // ENABLE_PUSH 0.
  H2Session(Role role, H2Listener& listener, const H2Settings& settings = {});
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // receive feeds the peer's bytes. false on a connection error: error() says what, a GOAWAY is
  // queued, and the session takes no more input.
  bool receive(std::string_view bytes);
  // take_output appends the bytes to send to out (at most about max); false when none.
  bool take_output(std::string& out, std::size_t max = 256 * 1024);

  // Client role: open a stream with a request's header block; returns its id, or -1 (error()).
  std::int32_t submit_request(const H2Fields& fields, bool end_stream);
  // Server role: a response's header block (a 1xx one too, with end_stream false).
  bool submit_response(std::int32_t stream, const H2Fields& fields, bool end_stream);
  // Queue body bytes on a stream; they are framed as the peer's windows allow.
  void send_data(std::int32_t stream, std::string_view bytes);
  // END_STREAM after the queued bytes.
  void end_stream(std::int32_t stream);
  // Trailers after the queued bytes; they end the stream.
  void send_trailers(std::int32_t stream, const H2Fields& fields);
  // Body bytes queued on a stream and not yet framed.
  [[nodiscard]] std::size_t queued(std::int32_t stream) const;
  // Body bytes queued on all streams (for a leg's backpressure).
  [[nodiscard]] std::size_t queued_total() const;

  // The owner passed on n received body bytes of stream: let the peer send n more.
  void consume(std::int32_t stream, std::size_t n);
  // RST_STREAM with error_code (NGHTTP2_CANCEL = 8, ...). NO_ERROR on a stream whose message is
  // still leaving is sent after its END_STREAM (a response sent before the whole request came).
  void reset(std::int32_t stream, std::uint32_t error_code);
  // GOAWAY: error_code 0 is a graceful end (the streams already open may finish).
  void goaway(std::uint32_t error_code);

  // nghttp2's view: false for both means the session is over (GOAWAY exchanged, nothing left).
  [[nodiscard]] bool want_read() const;
  [[nodiscard]] bool want_write() const;
  [[nodiscard]] const H2PeerSettings& peer_settings() const;
  // Streams open now.
  [[nodiscard]] std::size_t open_streams() const;
  [[nodiscard]] const std::string& error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// h2_error_name names an HTTP/2 error code: "NO_ERROR", "CANCEL", "ENHANCE_YOUR_CALM", ...
[[nodiscard]] std::string h2_error_name(std::uint32_t code);

}  // namespace tlslab::http
