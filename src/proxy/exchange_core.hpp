// The inside of proxy::Exchange, shared by exchange.cpp and the leg implementations (h1_leg.cpp,
// h2_leg.cpp); nothing else includes it.
//
// One Txn per request/response pair. Each message half (request, response) moves through:
//
//   head received --> head sent --> body bytes: received -> pending -> taken by the other leg
//                                   (the source is consumed, i.e. its window reopened, only then)
//                 --> end received --> end sent
//
// A leg (Leg) speaks one protocol to one peer: the client leg receives requests and sends
// responses, the upstream leg the reverse. Legs tell the Core what arrived (open, head, data, end,
// cut); the Core moves what it can to the other leg (pump) and emits the Flow. A finished Txn is
// removed at the end of each call into the Exchange (sweep), never while a leg is inside a
// callback.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/exchange.hpp"
#include "proxy/translate.hpp"

namespace tlslab::proxy::detail {

// HTTP/2 error codes (RFC 9113 §7) the proxy sends.
inline constexpr std::uint32_t kNoError = 0x0, kProtocolError = 0x1, kInternalError = 0x2, kRefusedStream = 0x7,
                               kCancel = 0x8;

enum class Side { Client, Upstream };
enum class Dir { Request, Response };

// ByteQueue holds body bytes received and not yet taken, without moving the rest at each take.
class ByteQueue {
 public:
  [[nodiscard]] std::string_view view() const { return std::string_view(buf_).substr(off_); }
  [[nodiscard]] std::size_t size() const { return buf_.size() - off_; }
  [[nodiscard]] bool empty() const { return size() == 0; }
  void append(std::string_view bytes) { buf_.append(bytes); }
  void drop(std::size_t n) {
    off_ += n;
    if (off_ == buf_.size()) {
      buf_.clear(), off_ = 0;
    } else if (off_ > 64 * 1024 && off_ > buf_.size() / 2) {
      buf_.erase(0, off_), off_ = 0;
    }
  }
  void clear() { buf_.clear(), off_ = 0; }

 private:
  std::string buf_;
  std::size_t off_ = 0;
};

struct Half {
  HttpHead head;
  bool head_received = false, ended = false;  // from the sending leg (ended: after trailers, if any)
  bool head_sent = false, end_sent = false;   // to the other leg
  std::optional<std::uint64_t> length;        // Content-Length, checked against the body
  std::uint64_t received = 0;                 // body bytes received
  ByteQueue pending;                          // received, not yet taken by the other leg
  Headers trailers;
};

struct Txn {
  std::uint64_t seq = 0;
  std::int32_t client_stream = 0;    // the client's HTTP/2 stream (0 over HTTP/1.1)
  std::int32_t upstream_stream = 0;  // the upstream's HTTP/2 stream (0 until opened)
  Half request, response;
  Flow flow;
  bool flow_sent = false;
  bool finished = false;  // nothing more to do: removed at the next sweep
  // The server answered before the whole request came: what is left of the request is recorded,
  // not forwarded, and the flow goes out when the client's request ends (HTTP/2 clients only).
  bool draining = false;
};

// Cut says why an exchange ended early and how the legs tell their peers.
struct Cut {
  std::string why;               // for the Flow: "stream reset by the client (CANCEL)"
  std::uint32_t code = kCancel;  // the RST_STREAM code for an HTTP/2 peer
  int reply = 0;                 // a status to answer with instead, if no response began (502, 501)
};

class Core;

class Leg {
 public:
  explicit Leg(Core& core) : core_(core) {}
  virtual ~Leg() = default;
  Leg(const Leg&) = delete;
  Leg& operator=(const Leg&) = delete;

  virtual void receive(std::string_view bytes) = 0;
  virtual void closed(bool clean) = 0;
  virtual bool take_output(std::string& out) = 0;
  [[nodiscard]] virtual std::size_t backlog() const = 0;  // bytes given to this leg, not yet taken out
  [[nodiscard]] virtual bool wants_data() const = 0;
  [[nodiscard]] virtual bool done() const = 0;

  // The half this leg sends: the request on the upstream leg, the response on the client leg.
  // send_head: false when it cannot go yet (a busy HTTP/1.1 upstream); end: the message is only
  // its head. send_body returns how many bytes it took (0: not now). send_end sends the trailers.
  virtual bool send_head(Txn& txn, bool end) = 0;
  virtual void send_interim(Txn& txn, const HttpHead& head) = 0;
  virtual std::size_t send_body(Txn& txn, std::string_view bytes) = 0;
  virtual void send_end(Txn& txn) = 0;
  // The exchange was cut: stop it on this leg (reset, reply or close the connection).
  virtual void abort(Txn& txn, const Cut& cut) = 0;
  // n bytes this leg received for txn were taken by the other leg: reopen the window.
  virtual void consume(Txn& txn, std::size_t n) = 0;
  virtual void forget(Txn& txn) = 0;
  // Start what waits (the next request, a queued exchange); true if anything happened.
  virtual bool poll() { return false; }
  // No new exchanges: GOAWAY, or close once the current one ends.
  virtual void shutdown() = 0;

 protected:
  Core& core_;
};

std::unique_ptr<Leg> make_h1_client_leg(Core& core);
std::unique_ptr<Leg> make_h1_upstream_leg(Core& core);
std::unique_ptr<Leg> make_h2_leg(Core& core, Side side);

class Core {
 public:
  Core(HttpProtocol client, HttpProtocol upstream, ExchangeOptions options, Exchange::Sink sink);
  ~Core();

  // What the legs report.
  Txn& open(std::int32_t client_stream, int version);
  void head(Txn& txn, Dir dir, HttpHead head, bool end);
  // refuse records a request that is not forwarded, then cuts it (the client leg answers).
  void refuse(Txn& txn, HttpHead head, const Cut& cut);
  void interim(Txn& txn, const HttpHead& head);
  void data(Txn& txn, Dir dir, std::string_view bytes);
  void end(Txn& txn, Dir dir, Headers trailers);
  // cut ends txn early; from is the side that ended it (its leg is not told again).
  void cut(Txn& txn, std::optional<Side> from, const Cut& cut);
  void protocol_error(Side side, const std::string& why);
  // The upstream takes no new requests (GOAWAY, Connection: close, closed).
  void upstream_gone();
  [[nodiscard]] bool upstream_is_gone() const { return upstream_gone_; }
  void pump(Txn& txn);

  // Calls cut on every unfinished exchange f accepts.
  template <class F>
  void cut_all(F accepts, std::optional<Side> from, const Cut& c) {
    for (auto& [seq, t] : txns_)
      if (!t->finished && accepts(*t)) cut(*t, from, c);
  }

  // The Exchange's entry points.
  void settle();
  [[nodiscard]] Leg& leg(Side side) { return side == Side::Client ? *client_ : *upstream_; }
  [[nodiscard]] const Leg& leg(Side side) const { return side == Side::Client ? *client_ : *upstream_; }
  [[nodiscard]] std::size_t buffered() const;

  const ExchangeOptions options;
  double now = 0;
  std::string error;

 private:
  void record(Txn& txn, Dir dir, HttpHead head);
  void move(Txn& txn, Dir dir);
  void ended_sent(Txn& txn, Dir dir);
  void emit(Txn& txn, bool complete, const std::string& why);
  bool sweep();

  Exchange::Sink sink_;
  std::unique_ptr<Leg> client_, upstream_;
  std::map<std::uint64_t, std::unique_ptr<Txn>> txns_;
  std::uint64_t next_seq_ = 1;
  bool upstream_gone_ = false;
  bool client_h2_ = false;
};

// The most body bytes one HTTP/2 stream queues in a session before the source waits.
inline std::size_t stream_queue_limit(const ExchangeOptions& o) {
  return std::min<std::size_t>(o.leg_buffer, 256 * 1024);
}

}  // namespace tlslab::proxy::detail
