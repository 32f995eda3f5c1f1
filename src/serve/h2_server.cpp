// serve::H2Server: serve's requests over an H2Session.
//
// Requests are answered after receive() has fed the session (never inside nghttp2's callbacks),
// so the responder may take its time and throw. A response's body goes into the session's
// per-stream queue: an in-memory body at once (pages, listings, echoes, cached small files, all
// bounded), a file from disk a piece at a time in take_output, while that stream's queue is short
// and the connection's queues together stay under a budget.
#include "serve/h2_server.hpp"

#include "base/text.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <exception>
#include <optional>
#include <unordered_map>
#include <vector>

namespace tlslab::serve {
using http::error_reply;
using http::FileReply;
using http::H2Listener;
using http::H2Session;
using http::H2Settings;
namespace bhttp = boost::beast::http;
namespace {

using TimePoint = H2Clock::time_point;
constexpr TimePoint kNever = TimePoint::max();
constexpr std::uint32_t kNoError = 0, kInternalError = 2, kCancel = 8;

// File bodies: read kPiece bytes at a time into a stream's queue when it holds less than
// kRefillBelow, while all queues together hold less than kOutputBudget.
constexpr std::size_t kPiece = 64 * 1024;
constexpr std::size_t kRefillBelow = 32 * 1024;
constexpr std::size_t kOutputBudget = 1024 * 1024;
// Request bodies held for requests not yet answered, per connection, beyond which windows stay
// shut; with the connection window (kConnectionWindow) this bounds what a client can make us hold.
constexpr std::size_t kBodyBudget = 4 * 1024 * 1024;
constexpr std::uint32_t kConnectionWindow = 4 * 1024 * 1024;
// A response complete before its request (413, 408, or an answer that did not wait for the body):
// what the client still sends is dropped for up to kLingerTime and kLingerBytes (policy.hpp, the
// HTTP/1.1 connection's linger) before the stream is reset with NO_ERROR (RFC 9113 §8.1), so a
// client still uploading reads the answer first. curl 7.88 fails a request whose stream is reset
// while it uploads, even after a complete response.

bool connection_specific(std::string_view name) {
  // RFC 9113 §8.2.2: these never appear in HTTP/2.
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade";
}

}  // namespace

Request h2_request(const H2Fields& fields) {
  Request req;
  req.version(20);
  std::string cookie, authority;
  bool has_host = false;
  for (const auto& f : fields) {
    if (!f.name.empty() && f.name.front() == ':') {
      if (f.name == ":method")
        req.method_string(f.value);
      else if (f.name == ":path")
        req.target(f.value);
      else if (f.name == ":authority")
        authority = f.value;
      continue;
    }
    if (f.name == "cookie") {
      if (!cookie.empty()) cookie += "; ";
      cookie += f.value;
      continue;
    }
    if (f.name == "host") has_host = true;
    req.insert(f.name, f.value);
  }
  if (!has_host && !authority.empty()) req.insert("host", authority);
  if (!cookie.empty()) req.insert("cookie", cookie);
  return req;
}

std::size_t h2_fields_size(const H2Fields& fields) {
  std::size_t size = 0;
  for (const auto& f : fields) size += f.name.size() + f.value.size() + 32;
  return size;
}

H2Fields h2_response_head(const Reply& reply, std::string_view date) {
  H2Fields head;
  head.reserve(5 + reply.headers.size());
  head.push_back({":status", std::to_string(reply.status)});
  head.push_back({"server", "tlslab"});
  head.push_back({"date", std::string(date)});
  if (reply.status != 304) head.push_back({"content-type", reply.content_type});
  for (const auto& [name, value] : reply.headers) {
    auto lower = ascii_lower(name);
    if (!connection_specific(lower)) head.push_back({std::move(lower), value});
  }
  if (reply.status != 304 && reply.status != 204)
    head.push_back({"content-length", std::to_string(reply.content_length())});
  return head;
}

struct H2Server::Impl final : H2Listener {
  struct Stream {
    Request request;
    std::optional<Reply> preset;  // an error answered without the responder (431, 413, 408)
    bool request_done = false;    // the client's half ended
    bool ready = false;           // in ready_, to be answered
    bool answered = false;        // the response's head was submitted
    bool end_sent = false;        // the response ended on the wire
    unsigned status = 0;
    std::uint64_t sent = 0;         // response body bytes sent
    std::optional<FileReply> file;  // file bytes not yet queued (offset and length advance)
    std::size_t held = 0;           // request body bytes held (counted in held_body_)
    std::size_t unconsumed = 0;     // of them, not yet acknowledged to the client
    std::size_t dropped = 0;        // body bytes received after the response ended
    TimePoint deadline = kNever;
  };

  Impl(const H2ServerOptions& o, H2Responder& r, TimePoint now)
      : options(o), responder(r), session(H2Session::Role::Server, *this, settings(o)), now_(now), started(now) {}

  static H2Settings settings(const H2ServerOptions& o) {
    H2Settings s;
    s.max_concurrent_streams = o.max_streams;
    s.connection_window_size = kConnectionWindow;
    // Blocks up to twice the limit are read and answered 431; beyond, the session refuses the
    // stream while decoding, and far beyond (an HPACK bomb) ends the connection.
    s.max_header_list_size = std::max<std::uint32_t>(2 * o.max_header_bytes, 4096);
    return s;
  }

  H2ServerOptions options;
  H2Responder& responder;
  H2Session session;
  std::unordered_map<std::int32_t, Stream> streams;
  std::vector<std::int32_t> ready;    // requests to answer after receive
  std::vector<std::int32_t> files;    // streams with file bytes to queue
  std::vector<std::int32_t> starved;  // streams with unconsumed body bytes
  std::size_t held_body = 0;
  std::string piece;
  TimePoint now_, started, idle_since{};
  bool first = true;     // no request yet
  bool closing = false;  // GOAWAY sent: done once the streams are
  bool failed = false;

  Stream* find(std::int32_t id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : &it->second;
  }

  void make_ready(std::int32_t id, Stream& st) {
    if (st.ready || st.answered) return;
    st.ready = true;
    st.deadline = kNever;
    ready.push_back(id);
  }

  void refuse(std::int32_t id, Stream& st, ReadFailure why) {
    auto refusal = serve::refuse(why, false, options, {});
    responder.note(refusal.note);
    drop_body(id, st);
    st.preset = std::move(refusal.reply);
    make_ready(id, st);
  }

  void drop_body(std::int32_t id, Stream& st) {
    held_body -= st.held;
    st.held = 0;
    if (st.unconsumed) {  // the connection's window is owed these bytes even now
      session.consume(id, st.unconsumed);
      st.unconsumed = 0;
    }
    std::string().swap(st.request.body());
  }

  // ---- H2Listener ----

  void on_headers(std::int32_t id, H2Fields fields, bool end_stream) override {
    auto& st = streams[id];
    first = false;
    auto size = h2_fields_size(fields);
    st.request = h2_request(fields);
    if (size > options.max_header_bytes) {
      refuse(id, st, ReadFailure::HeaderTooLarge);
      return;
    }
    if (auto it = st.request.find(bhttp::field::content_length); it != st.request.end()) {
      // nghttp2 checked it is a number that the DATA frames will match.
      if (std::stoull(std::string(it->value())) > options.max_body_bytes) {
        refuse(id, st, ReadFailure::BodyTooLarge);
        return;
      }
    }
    if (end_stream) {
      st.request_done = true;
      make_ready(id, st);
    } else {
      st.deadline = now_ + options.request_timeout;
    }
  }

  void on_trailers(std::int32_t id, H2Fields) override { on_end_stream(id); }

  void on_end_stream(std::int32_t id) override {
    auto* st = find(id);
    if (st == nullptr) return;
    st->request_done = true;
    make_ready(id, *st);
  }

  void on_data(std::int32_t id, std::string_view bytes) override {
    auto* st = find(id);
    if (st == nullptr || st->ready || st->answered) {  // refused or answered: dropped
      session.consume(id, bytes.size());
      if (st != nullptr && st->end_sent && (st->dropped += bytes.size()) > kLingerBytes) session.reset(id, kNoError);
      return;
    }
    auto& body = st->request.body();
    if (body.size() + bytes.size() > options.max_body_bytes) {
      session.consume(id, bytes.size());
      refuse(id, *st, ReadFailure::BodyTooLarge);
      return;
    }
    body.append(bytes);
    st->held += bytes.size();
    held_body += bytes.size();
    if (held_body <= kBodyBudget) {
      session.consume(id, bytes.size());
    } else {
      if (st->unconsumed == 0) starved.push_back(id);
      st->unconsumed += bytes.size();
    }
  }

  void on_stream_closed(std::int32_t id, std::uint32_t, bool) override {
    auto it = streams.find(id);
    if (it == streams.end()) return;
    auto& st = it->second;
    // As nginx logs it: 499 for a request whose client left before it was answered.
    responder.responded(st.request, st.answered ? st.status : 499, st.sent);
    drop_body(id, st);
    streams.erase(it);
    if (streams.empty()) idle_since = now_;
  }

  void on_data_sent(std::int32_t id, std::size_t bytes) override {
    if (auto* st = find(id)) {
      st->sent += bytes;
      st->deadline = now_ + options.write_timeout;
    }
  }

  void on_end_sent(std::int32_t id) override {
    auto* st = find(id);
    if (st == nullptr) return;
    st->end_sent = true;
    // The response is complete before the request: the client may stop sending (RFC 9113 §8.1),
    // and is told so after a while.
    st->deadline = st->request_done ? kNever : now_ + kLingerTime;
  }

  // ---- answering ----

  void answer_ready() {
    while (!ready.empty()) {
      auto batch = std::move(ready);
      ready.clear();
      for (auto id : batch) {
        auto* st = find(id);
        if (st == nullptr || st->answered) continue;
        Reply reply;
        if (st->preset) {
          reply = std::move(*st->preset);
          st->preset.reset();
        } else {
          try {
            reply = responder.respond(st->request);
          } catch (const std::exception& e) {
            responder.note(fmt::format("answering {}: {}; answered 500", std::string(st->request.target()), e.what()));
            reply = error_reply(500);
          }
        }
        start(id, *st, std::move(reply));
      }
    }
  }

  void start(std::int32_t id, Stream& st, Reply reply) {
    drop_body(id, st);
    bool head = st.request.method() == bhttp::verb::head;
    bool no_body = head || reply.status == 304 || reply.status == 204 || reply.content_length() == 0;
    st.answered = true;
    st.status = reply.status;
    st.deadline = now_ + options.write_timeout;
    if (!session.submit_response(id, h2_response_head(reply, responder.date()), no_body)) {
      session.reset(id, kInternalError);
      return;
    }
    if (no_body) return;
    if (!reply.file) {
      session.send_data(id, reply.body);
      session.end_stream(id);
    } else if (reply.file->data) {
      session.send_data(id, std::string_view(*reply.file->data).substr(reply.file->offset, reply.file->length));
      session.end_stream(id);
    } else {
      st.file = std::move(reply.file);
      files.push_back(id);
    }
  }

  // refill queues file bytes for streams whose queue runs short.
  void refill() {
    std::erase_if(files, [&](std::int32_t id) {
      auto* st = find(id);
      if (st == nullptr || !st->file) return true;
      if (session.queued_total() >= kOutputBudget || session.queued(id) >= kRefillBelow) return false;
      auto& file = *st->file;
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(file.length, kPiece));
      piece.resize(n);
      for (std::size_t got = 0; got < n;) {
        auto r = ::pread(file.fd.get(), piece.data() + got, n - got, static_cast<off_t>(file.offset + got));
        if (r <= 0) {  // the file shrank under us
          responder.note(
              fmt::format("{}: the file ended before its length; stream reset", std::string(st->request.target())));
          st->file.reset();
          session.reset(id, kInternalError);
          return true;
        }
        got += static_cast<std::size_t>(r);
      }
      session.send_data(id, piece);
      file.offset += n;
      file.length -= n;
      if (file.length > 0) return false;
      st->file.reset();
      session.end_stream(id);
      return true;
    });
    if (piece.capacity() > kPiece) std::string().swap(piece);
  }

  // release reopens windows held shut while the connection held too many body bytes.
  void release() {
    std::erase_if(starved, [&](std::int32_t id) {
      if (held_body > kBodyBudget) return false;
      auto* st = find(id);
      if (st == nullptr) return true;
      session.consume(id, st->unconsumed);
      st->unconsumed = 0;
      return true;
    });
  }

  TimePoint connection_deadline() const {
    if (!streams.empty() || closing) return kNever;
    return first ? started + options.header_timeout : idle_since + options.idle_timeout;
  }
};

H2Server::H2Server(const H2ServerOptions& options, H2Responder& responder, H2Clock::time_point now)
    : impl_(std::make_unique<Impl>(options, responder, now)) {}

H2Server::~H2Server() = default;

bool H2Server::receive(std::string_view bytes, H2Clock::time_point now) {
  auto& s = *impl_;
  if (s.failed) return false;
  s.now_ = now;
  if (!s.session.receive(bytes)) {
    s.failed = true;
    return false;
  }
  s.answer_ready();
  s.release();
  return true;
}

bool H2Server::take_output(std::string& out, std::size_t max) {
  auto& s = *impl_;
  const auto start = out.size();
  for (;;) {
    auto produced = out.size() - start;
    if (produced >= max) break;
    if (!s.failed) s.refill();
    if (!s.session.take_output(out, max - produced)) break;
  }
  return out.size() > start;
}

void H2Server::shutdown() {
  auto& s = *impl_;
  if (s.closing || s.failed) return;
  s.closing = true;
  s.session.goaway(kNoError);
}

H2Clock::time_point H2Server::next_deadline() const {
  auto& s = *impl_;
  auto next = s.connection_deadline();
  for (const auto& [id, st] : s.streams) next = std::min(next, st.deadline);
  return next;
}

void H2Server::expire(H2Clock::time_point now) {
  auto& s = *impl_;
  s.now_ = now;
  if (s.failed) return;
  if (now >= s.connection_deadline()) {
    if (s.first) s.responder.note(*wait_failure(End::TimedOut, true, s.options, {}));
    shutdown();
    return;
  }
  std::vector<std::int32_t> late;
  for (const auto& [id, st] : s.streams)
    if (now >= st.deadline) late.push_back(id);
  for (auto id : late) {
    auto* st = s.find(id);
    if (st == nullptr) continue;
    if (st->end_sent) {  // lingered long enough
      st->deadline = kNever;
      s.session.reset(id, kNoError);
    } else if (!st->answered) {
      s.refuse(id, *st, ReadFailure::TimedOut);
    } else {
      s.responder.note(fmt::format("response to {} not taken in {}; stream reset", std::string(st->request.target()),
                                   seconds_text(s.options.write_timeout)));
      st->deadline = kNever;
      st->file.reset();
      s.session.reset(id, kCancel);
    }
  }
  s.answer_ready();
  s.release();
}

bool H2Server::done() const {
  auto& s = *impl_;
  if (s.failed) return !s.session.want_write();
  if (!s.session.want_read() && !s.session.want_write()) return true;
  return s.closing && s.streams.empty() && !s.session.want_write();
}

bool H2Server::idle() const { return impl_->streams.empty(); }

const std::string& H2Server::error() const { return impl_->session.error(); }

}  // namespace tlslab::serve
