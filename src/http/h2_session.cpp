// http::H2Session over nghttp2.
//
// Output: nghttp2_session_send() with a send callback that appends to the string being filled
// (take_output's `out`, or `pending_` during receive), and DATA frames with NGHTTP2_DATA_FLAG_NO_COPY
// so body bytes are copied once, from the stream's queue to the output, with no string per frame.
//
// Connection errors: nghttp2 answers most protocol errors by queueing GOAWAY and ignoring the rest
// of the input, while mem_recv still reports success. So receive() sends the control frames nghttp2
// queued (into pending_, DATA held back) and watches for a GOAWAY it did not ask for: that is how
// a connection error nghttp2 found becomes `false` and an error() at once.
//
// Listener callbacks run inside nghttp2's callbacks: from them the owner may submit, queue,
// consume, reset and go away, but not call receive or take_output (they return false there).
#include "http/h2_session.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <new>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

namespace tlslab::http {
namespace {

using Clock = std::chrono::steady_clock;

// Counts events in one-second windows.
class RateMeter {
 public:
  // add counts one event; true when the window now holds more than limit.
  bool add(std::uint32_t limit) {
    auto now = Clock::now();
    if (now - start_ >= std::chrono::seconds(1)) start_ = now, count_ = 0;
    return ++count_ > limit;
  }

 private:
  Clock::time_point start_{};
  std::uint32_t count_ = 0;
};

std::string printable(std::string_view bytes, std::size_t max) {
  std::string text;
  for (unsigned char c : bytes.substr(0, max)) {
    if (c == '\r')
      text += "\\r";
    else if (c == '\n')
      text += "\\n";
    else if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      text += static_cast<char>(c);
    else
      text += fmt::format("\\x{:02x}", c);
  }
  if (bytes.size() > max) text += "...";
  return text;
}

bool is_informational(const H2Fields& fields) {
  return !fields.empty() && fields.front().name == ":status" && fields.front().value.size() == 3 &&
         fields.front().value[0] == '1';
}

std::vector<nghttp2_nv> to_nv(const H2Fields& fields) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (const auto& f : fields) {
    // nghttp2 copies names and values when the frame is submitted.
    nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.name.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.value.data())), f.name.size(), f.value.size(),
                   NGHTTP2_NV_FLAG_NONE});
  }
  return nva;
}

}  // namespace

struct H2Session::Impl {
  struct Stream {
    std::string out;  // queued body bytes, from out_head on
    std::size_t out_head = 0;
    bool end = false;           // END_STREAM after the queue
    bool has_trailers = false;  // trailers after the queue (they end the stream)
    H2Fields trailers;
    bool provider = false;       // HEADERS went with a data provider: DATA may follow
    bool deferred = false;       // the provider said DEFERRED for want of bytes; resume when some come
    bool known = false;          // the owner knows the stream: it submitted it, or on_headers told it
    bool final_headers = false;  // the request (server) or a final response (client) came in
    bool peer_reset = false;
    bool end_sent = false;         // END_STREAM went out
    bool reset_after_end = false;  // RST_STREAM NO_ERROR once END_STREAM went out (reset())
    // The header block coming in.
    H2Fields fields;
    std::size_t fields_size = 0;
    bool oversize = false;

    [[nodiscard]] std::size_t queued() const { return out.size() - out_head; }
  };

  Impl(Role r, H2Listener& l, const H2Settings& s) : role(r), listener(l), settings(s) {}
  ~Impl() {
    if (session != nullptr) nghttp2_session_del(session);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Role role;
  H2Listener& listener;
  H2Settings settings;
  nghttp2_session* session = nullptr;
  std::unordered_map<std::int32_t, Stream> streams;
  std::size_t queued_total = 0;
  H2PeerSettings peer;

  // Output: where the send callback appends, and whether DATA may go there now.
  std::string pending_;  // frames sent by receive(), handed out first by take_output
  std::string* sink = nullptr;
  std::size_t sink_limit = 0;
  bool data_allowed = false;
  std::vector<std::int32_t> held;  // streams whose DATA was held back by the limit, to resume
  bool busy = false;               // inside mem_recv or session_send

  // Errors.
  bool fatal = false;
  std::uint32_t fatal_code = 0;
  bool own_goaway = false;  // goaway(code) from the owner: a GOAWAY with an error is ours
  std::string error;
  std::string lib_message;  // nghttp2's last words (error callback), for a connection error it found
  std::string last_invalid;

  RateMeter resets, control;

  Stream* find(std::int32_t id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : &it->second;
  }

  // fail ends the connection: GOAWAY(code) is queued and receive() returns false from now on.
  void fail(std::uint32_t code, std::string message) {
    if (fatal) return;
    fatal = true;
    fatal_code = code;
    error = std::move(message);
    nghttp2_session_terminate_session(session, code);
  }

  // close_all tells the owner every stream it knows is gone (after a connection error).
  void close_all() {
    auto gone = std::move(streams);
    streams.clear();
    queued_total = 0;
    for (auto& [id, st] : gone)
      if (st.known) listener.on_stream_closed(id, fatal_code, false);
  }

  void resume(std::int32_t id, Stream& st) {
    if (st.deferred && st.provider) {
      st.deferred = false;
      nghttp2_session_resume_data(session, id);
    }
  }

  // send runs nghttp2's output into *to; DATA only while allowed and below limit.
  void send(std::string& to, std::size_t limit, bool with_data) {
    sink = &to;
    sink_limit = limit;
    data_allowed = with_data;
    busy = true;
    int rv = nghttp2_session_send(session);
    busy = false;
    sink = nullptr;
    for (auto id : held) nghttp2_session_resume_data(session, id);
    held.clear();
    if (rv < 0 && !fatal) fail(NGHTTP2_INTERNAL_ERROR, fmt::format("HTTP/2 output failed: {}", nghttp2_strerror(rv)));
  }

  void record_settings() {
    auto get = [&](nghttp2_settings_id id) { return nghttp2_session_get_remote_settings(session, id); };
    peer.max_concurrent_streams = get(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    peer.initial_window_size = get(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE);
    peer.max_frame_size = get(NGHTTP2_SETTINGS_MAX_FRAME_SIZE);
    peer.max_header_list_size = get(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE);
    peer.enable_push = get(NGHTTP2_SETTINGS_ENABLE_PUSH) != 0;
    peer.enable_connect_protocol = get(NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) != 0;
  }

  // count_reset counts a stream the peer reset, or made us reset; beyond the limit the connection
  // ends (rapid reset, CVE-2023-44487).
  bool count_reset() {
    if (!resets.add(settings.max_resets_per_second)) return true;
    fail(NGHTTP2_ENHANCE_YOUR_CALM, fmt::format("the peer reset more than {} streams within a second (rapid reset)",
                                                settings.max_resets_per_second));
    return false;
  }

  static Impl& self(void* user) { return *static_cast<Impl*>(user); }

  // guard runs a callback body that calls the listener: an exception becomes a connection error
  // (it must not cross nghttp2's C frames).
  template <typename F>
  int guard(F&& body) {
    try {
      return body();
    } catch (const std::exception& e) {
      fail(NGHTTP2_INTERNAL_ERROR, fmt::format("HTTP/2 session handler failed: {}", e.what()));
    } catch (...) {
      fail(NGHTTP2_INTERNAL_ERROR, "HTTP/2 session handler failed");
    }
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  // ---- nghttp2 callbacks ----

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& s = self(user);
    if (frame->hd.type == NGHTTP2_PUSH_PROMISE) {
      // ENABLE_PUSH 0 is announced in the client's first SETTINGS (RFC 9113 §8.4).
      s.fail(NGHTTP2_PROTOCOL_ERROR, "the server sent PUSH_PROMISE although push is disabled (ENABLE_PUSH 0)");
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    auto id = frame->hd.stream_id;
    auto* st = s.find(id);
    if (st == nullptr && s.role == Role::Server && frame->headers.cat == NGHTTP2_HCAT_REQUEST) st = &s.streams[id];
    if (st == nullptr) return 0;
    st->fields.clear();
    st->fields_size = 0;
    st->oversize = false;
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
    auto& s = self(user);
    auto id = frame->hd.stream_id;
    auto* st = s.find(id);
    if (st == nullptr) return 0;
    // RFC 9113 §6.5.2: a field's size is its name and value lengths plus 32.
    st->fields_size += namelen + valuelen + 32;
    const std::size_t limit = s.settings.max_header_list_size;
    if (st->fields_size > limit) {
      if (!st->oversize) {
        st->oversize = true;
        st->fields.clear();
        st->fields.shrink_to_fit();
        nghttp2_submit_rst_stream(s.session, NGHTTP2_FLAG_NONE, id,
                                  s.role == Role::Server ? NGHTTP2_REFUSED_STREAM : NGHTTP2_CANCEL);
      }
      // The block is dropped as it decodes; one that decodes far beyond the limit (an HPACK bomb:
      // a large table entry referenced again and again) ends the connection, so decoding stays cheap.
      if (st->fields_size / 16 > limit) {
        s.fail(NGHTTP2_ENHANCE_YOUR_CALM,
               fmt::format("a header block of stream {} decodes to more than {} bytes (HPACK bomb)", id, limit * 16));
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      return 0;
    }
    st->fields.push_back({std::string(reinterpret_cast<const char*>(name), namelen),
                          std::string(reinterpret_cast<const char*>(value), valuelen)});
    return 0;
  }

  void headers_received(std::int32_t id, Stream& st, bool end_stream) {
    if (st.oversize) return;
    auto fields = std::move(st.fields);
    st.fields = {};
    if (st.final_headers) {
      listener.on_trailers(id, std::move(fields));
      return;
    }
    if (role == Role::Server || !is_informational(fields)) st.final_headers = true;
    st.known = true;
    listener.on_headers(id, std::move(fields), end_stream);
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& s = self(user);
    return s.guard([&] {
      auto id = frame->hd.stream_id;
      switch (frame->hd.type) {
        case NGHTTP2_DATA:
          if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0)
            if (auto* st = s.find(id); st != nullptr && st->known) s.listener.on_end_stream(id);
          break;
        case NGHTTP2_HEADERS:
          if (auto* st = s.find(id); st != nullptr)
            s.headers_received(id, *st, (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
          break;
        case NGHTTP2_RST_STREAM:
          if (auto* st = s.find(id); st != nullptr) st->peer_reset = true;
          if (!s.count_reset()) return int{NGHTTP2_ERR_CALLBACK_FAILURE};
          break;
        case NGHTTP2_SETTINGS:
        case NGHTTP2_PING:
          if (frame->hd.type == NGHTTP2_SETTINGS && (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) break;
          if (s.control.add(s.settings.max_control_per_second)) {
            s.fail(NGHTTP2_ENHANCE_YOUR_CALM,
                   fmt::format("the peer sent more than {} SETTINGS and PING frames within a second (flood)",
                               s.settings.max_control_per_second));
            return int{NGHTTP2_ERR_CALLBACK_FAILURE};
          }
          if (frame->hd.type == NGHTTP2_SETTINGS) {
            s.record_settings();
            s.peer.entries.clear();
            for (std::size_t i = 0; i < frame->settings.niv; ++i)
              s.peer.entries.emplace_back(static_cast<std::uint16_t>(frame->settings.iv[i].settings_id),
                                          frame->settings.iv[i].value);
            s.listener.on_settings();
          }
          break;
        case NGHTTP2_GOAWAY:
          s.listener.on_goaway(frame->goaway.last_stream_id, frame->goaway.error_code);
          break;
        default:
          break;
      }
      return 0;
    });
  }

  static int on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame* frame, int lib_error, void* user) {
    auto& s = self(user);
    s.last_invalid = nghttp2_strerror(lib_error);
    // A stream error the peer caused costs it as a reset would: the streams it makes us reset
    // count against the same limit.
    if (frame->hd.stream_id != 0 && !s.count_reset()) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
  }

  static int on_data_chunk_recv(nghttp2_session* session, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                                std::size_t len, void* user) {
    auto& s = self(user);
    auto* st = s.find(id);
    if (st == nullptr || !st->known || st->oversize) {
      // Nobody will pass these on: reopen the window at once.
      nghttp2_session_consume(session, id, len);
      return 0;
    }
    return s.guard([&] {
      s.listener.on_data(id, std::string_view(reinterpret_cast<const char*>(data), len));
      return 0;
    });
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* user) {
    auto& s = self(user);
    auto it = s.streams.find(id);
    if (it == s.streams.end()) return 0;
    bool known = it->second.known, by_peer = it->second.peer_reset;
    s.queued_total -= it->second.queued();
    s.streams.erase(it);
    if (!known) return 0;
    return s.guard([&] {
      s.listener.on_stream_closed(id, error_code, by_peer);
      return 0;
    });
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& s = self(user);
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR && !s.fatal && !s.own_goaway) {
      // nghttp2 found a connection error in the peer's bytes.
      std::string reason = s.lib_message;
      if (reason.empty())
        reason.assign(reinterpret_cast<const char*>(frame->goaway.opaque_data), frame->goaway.opaque_data_len);
      if (reason.empty()) reason = s.last_invalid;
      if (reason.empty()) reason = "a malformed frame from the peer";
      s.fail(frame->goaway.error_code,
             fmt::format("HTTP/2 connection error {}: {}", h2_error_name(frame->goaway.error_code), reason));
      return 0;
    }
    if (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto id = frame->hd.stream_id;
    bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    return s.guard([&] {
      if (frame->hd.type == NGHTTP2_DATA && frame->hd.length > 0)
        s.listener.on_data_sent(id, frame->hd.length - frame->data.padlen);
      if (auto* st = end ? s.find(id) : nullptr) {
        st->end_sent = true;
        if (st->reset_after_end) nghttp2_submit_rst_stream(s.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
        s.listener.on_end_sent(id);
      }
      return 0;
    });
  }

  static int on_frame_not_send(nghttp2_session* session, const nghttp2_frame* frame, int, void* user) {
    // A request that never left (GOAWAY came first, or the session is closing): nghttp2 never
    // opened the stream, so it will not report it closed; the owner hears it here.
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto id = frame->hd.stream_id;
    if (nghttp2_session_find_stream(session, id) != nullptr) return 0;
    return on_stream_close(session, id, NGHTTP2_REFUSED_STREAM, user);
  }

  static int on_error(nghttp2_session*, int, const char* msg, std::size_t len, void* user) {
    self(user).lib_message.assign(msg, len);
    return 0;
  }

  static ssize_t on_send(nghttp2_session*, const std::uint8_t* data, std::size_t length, int, void* user) {
    self(user).sink->append(reinterpret_cast<const char*>(data), length);
    return static_cast<ssize_t>(length);
  }

  static ssize_t read_body(nghttp2_session* session, std::int32_t id, std::uint8_t*, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* user) {
    auto& s = self(user);
    auto* st = s.find(id);
    if (st == nullptr) return NGHTTP2_ERR_DEFERRED;  // gone with a connection error
    if (!s.data_allowed || s.sink->size() >= s.sink_limit) {
      s.held.push_back(id);
      return NGHTTP2_ERR_DEFERRED;
    }
    auto avail = st->queued();
    if (avail == 0 && !st->end && !st->has_trailers) {
      st->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    auto n = std::min(avail, length);
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == avail && (st->end || st->has_trailers)) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (st->has_trailers) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        auto nva = to_nv(st->trailers);
        if (nghttp2_submit_trailer(session, id, nva.data(), nva.size()) != 0)
          return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
    }
    return static_cast<ssize_t>(n);
  }

  static int send_body(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd, std::size_t length,
                       nghttp2_data_source*, void* user) {
    auto& s = self(user);
    auto* st = s.find(frame->hd.stream_id);
    if (st == nullptr || st->queued() < length) return NGHTTP2_ERR_CALLBACK_FAILURE;
    s.sink->append(reinterpret_cast<const char*>(framehd), 9);
    s.sink->append(st->out, st->out_head, length);
    st->out_head += length;
    s.queued_total -= length;
    if (st->out_head == st->out.size()) {
      st->out.clear();
      st->out_head = 0;
    } else if (st->out_head >= 64 * 1024 && st->out_head * 2 >= st->out.size()) {
      st->out.erase(0, st->out_head);
      st->out_head = 0;
    }
    return 0;
  }

  static const nghttp2_session_callbacks* callbacks() {
    static const nghttp2_session_callbacks* shared = [] {
      nghttp2_session_callbacks* cbs = nullptr;
      if (nghttp2_session_callbacks_new(&cbs) != 0) throw std::bad_alloc();
      nghttp2_session_callbacks_set_send_callback(cbs, on_send);
      nghttp2_session_callbacks_set_send_data_callback(cbs, send_body);
      nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
      nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
      nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
      nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, on_invalid_frame_recv);
      nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk_recv);
      nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
      nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
      nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, on_frame_not_send);
      nghttp2_session_callbacks_set_error_callback2(cbs, on_error);
      return cbs;
    }();
    return shared;
  }

  nghttp2_data_provider provider() {
    nghttp2_data_provider prd{};
    prd.read_callback = read_body;
    return prd;
  }
};

namespace {

struct OptionDeleter {
  void operator()(nghttp2_option* o) const { nghttp2_option_del(o); }
};

}  // namespace

H2Session::H2Session(Role role, H2Listener& listener, const H2Settings& settings)
    : impl_(std::make_unique<Impl>(role, listener, settings)) {
  constexpr std::uint32_t max_window = (1u << 31) - 1;
  if (settings.initial_window_size > max_window || settings.connection_window_size > max_window)
    throw std::invalid_argument("HTTP/2 flow-control windows are at most 2^31-1 bytes");
  nghttp2_option* raw = nullptr;
  if (nghttp2_option_new(&raw) != 0) throw std::bad_alloc();
  std::unique_ptr<nghttp2_option, OptionDeleter> option(raw);
  // WINDOW_UPDATE only as the owner consumes (consume()).
  nghttp2_option_set_no_auto_window_update(raw, 1);
  // nghttp2's own flood guards, set explicitly: at most 32 entries per SETTINGS frame, 8
  // CONTINUATION frames per header block (CVE-2024-27316 and kin), 1000 unsent SETTINGS/PING
  // acknowledgements. Its reset limiter (server only) backs up the per-second count done here.
  nghttp2_option_set_max_settings(raw, 32);
  nghttp2_option_set_max_continuations(raw, 8);
  nghttp2_option_set_max_outbound_ack(raw, 1000);
  nghttp2_option_set_stream_reset_rate_limit(raw, 2ull * settings.max_resets_per_second,
                                             settings.max_resets_per_second);
  // No RFC 7540 priority tree: closed streams are not kept for it.
  nghttp2_option_set_no_closed_streams(raw, 1);

  int rv = role == Role::Server ? nghttp2_session_server_new2(&impl_->session, Impl::callbacks(), impl_.get(), raw)
                                : nghttp2_session_client_new2(&impl_->session, Impl::callbacks(), impl_.get(), raw);
  if (rv != 0) throw std::bad_alloc();

  std::vector<nghttp2_settings_entry> iv = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.initial_window_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings.max_header_list_size},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  if (role == Role::Client) iv.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  if (nghttp2_submit_settings(impl_->session, NGHTTP2_FLAG_NONE, iv.data(), iv.size()) != 0)
    throw std::invalid_argument("invalid HTTP/2 settings");
  if (nghttp2_session_set_local_window_size(impl_->session, NGHTTP2_FLAG_NONE, 0,
                                            static_cast<std::int32_t>(settings.connection_window_size)) != 0)
    throw std::invalid_argument("invalid HTTP/2 connection window size");
}

H2Session::~H2Session() = default;

bool H2Session::receive(std::string_view bytes) {
  auto& s = *impl_;
  if (s.fatal || s.busy) return false;
  s.lib_message.clear();
  s.busy = true;
  auto rv = nghttp2_session_mem_recv(s.session, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  s.busy = false;
  if (rv < 0 && !s.fatal) {
    switch (rv) {
      case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
        s.fail(NGHTTP2_PROTOCOL_ERROR, fmt::format("not an HTTP/2 connection: received \"{}\" where the client preface "
                                                   "\"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n\" was expected",
                                                   printable(bytes, 24)));
        break;
      case NGHTTP2_ERR_FLOODED:
        s.fail(NGHTTP2_ENHANCE_YOUR_CALM,
               "the peer sent SETTINGS or PING frames faster than it reads their acknowledgements (flood)");
        break;
      case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
        s.fail(NGHTTP2_ENHANCE_YOUR_CALM, "a header block came in more than 8 CONTINUATION frames (flood)");
        break;
      default:
        s.fail(NGHTTP2_INTERNAL_ERROR, fmt::format("HTTP/2 input failed: {}", nghttp2_strerror(static_cast<int>(rv))));
        break;
    }
  }
  // Send what nghttp2 queued in answer (ACKs, WINDOW_UPDATE, RST_STREAM, GOAWAY), DATA held back.
  s.send(s.pending_, 0, false);
  if (s.fatal) {
    s.close_all();
    return false;
  }
  return true;
}

bool H2Session::take_output(std::string& out, std::size_t max) {
  auto& s = *impl_;
  if (s.busy) return false;
  const auto start = out.size();
  if (!s.pending_.empty()) {
    if (out.empty())
      out.swap(s.pending_);
    else
      out.append(s.pending_);
    s.pending_.clear();
  }
  s.send(out, start + max, true);
  return out.size() > start;
}

std::int32_t H2Session::submit_request(const H2Fields& fields, bool end_stream) {
  auto& s = *impl_;
  if (s.role != Role::Client) {
    s.error = "submit_request: a server session cannot send requests";
    return -1;
  }
  auto nva = to_nv(fields);
  auto prd = s.provider();
  auto id = nghttp2_submit_request(s.session, nullptr, nva.data(), nva.size(), end_stream ? nullptr : &prd, nullptr);
  if (id < 0) {
    s.error = fmt::format("cannot open an HTTP/2 stream: {}", nghttp2_strerror(id));
    return -1;
  }
  auto& st = s.streams[id];
  st.known = true;
  st.provider = !end_stream;
  return id;
}

bool H2Session::submit_response(std::int32_t stream, const H2Fields& fields, bool end_stream) {
  auto& s = *impl_;
  auto* st = s.find(stream);
  if (s.role != Role::Server || st == nullptr || !st->known) {
    s.error = fmt::format("submit_response: no request on stream {}", stream);
    return false;
  }
  auto nva = to_nv(fields);
  int rv = 0;
  if (is_informational(fields)) {
    rv = nghttp2_submit_headers(s.session, NGHTTP2_FLAG_NONE, stream, nullptr, nva.data(), nva.size(), nullptr);
  } else {
    auto prd = s.provider();
    rv = nghttp2_submit_response(s.session, stream, nva.data(), nva.size(), end_stream ? nullptr : &prd);
    if (rv == 0) st->provider = !end_stream;
  }
  if (rv != 0) {
    s.error = fmt::format("cannot send a response on stream {}: {}", stream, nghttp2_strerror(rv));
    return false;
  }
  return true;
}

void H2Session::send_data(std::int32_t stream, std::string_view bytes) {
  auto& s = *impl_;
  auto* st = s.find(stream);
  if (st == nullptr || st->end || st->has_trailers || bytes.empty()) return;
  st->out.append(bytes);
  s.queued_total += bytes.size();
  s.resume(stream, *st);
}

void H2Session::end_stream(std::int32_t stream) {
  auto& s = *impl_;
  auto* st = s.find(stream);
  if (st == nullptr || st->end || st->has_trailers) return;
  st->end = true;
  s.resume(stream, *st);
}

void H2Session::send_trailers(std::int32_t stream, const H2Fields& fields) {
  auto& s = *impl_;
  auto* st = s.find(stream);
  if (st == nullptr || st->end || st->has_trailers) return;
  if (fields.empty()) {
    st->end = true;
  } else {
    st->has_trailers = true;
    st->trailers = fields;
  }
  s.resume(stream, *st);
}

std::size_t H2Session::queued(std::int32_t stream) const {
  auto it = impl_->streams.find(stream);
  return it == impl_->streams.end() ? 0 : it->second.queued();
}

std::size_t H2Session::queued_total() const { return impl_->queued_total; }

void H2Session::consume(std::int32_t stream, std::size_t n) {
  // nghttp2 credits the connection window even when the stream is already closed.
  if (n > 0) nghttp2_session_consume(impl_->session, stream, n);
}

void H2Session::reset(std::int32_t stream, std::uint32_t error_code) {
  // NO_ERROR after a whole message (RFC 9113 §8.1: "stop sending the rest, I have answered") must
  // follow the message's last frame; nghttp2 would send it ahead of the DATA still queued.
  auto* st = impl_->find(stream);
  if (error_code == NGHTTP2_NO_ERROR && st != nullptr && st->provider && !st->end_sent) {
    st->reset_after_end = true;
    return;
  }
  nghttp2_submit_rst_stream(impl_->session, NGHTTP2_FLAG_NONE, stream, error_code);
}

void H2Session::goaway(std::uint32_t error_code) {
  auto& s = *impl_;
  s.own_goaway = true;
  if (error_code == NGHTTP2_NO_ERROR)
    nghttp2_submit_goaway(s.session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s.session),
                          NGHTTP2_NO_ERROR, nullptr, 0);
  else
    nghttp2_session_terminate_session(s.session, error_code);
}

bool H2Session::want_read() const { return !impl_->fatal && nghttp2_session_want_read(impl_->session) != 0; }

bool H2Session::want_write() const {
  return !impl_->pending_.empty() || nghttp2_session_want_write(impl_->session) != 0;
}

const H2PeerSettings& H2Session::peer_settings() const { return impl_->peer; }

std::size_t H2Session::open_streams() const {
  return static_cast<std::size_t>(
      std::count_if(impl_->streams.begin(), impl_->streams.end(), [](const auto& e) { return e.second.known; }));
}

const std::string& H2Session::error() const { return impl_->error; }

std::string h2_error_name(std::uint32_t code) {
  // RFC 9113 §7.
  static constexpr std::array<const char*, 14> names = {"NO_ERROR",
                                                        "PROTOCOL_ERROR",
                                                        "INTERNAL_ERROR",
                                                        "FLOW_CONTROL_ERROR",
                                                        "SETTINGS_TIMEOUT",
                                                        "STREAM_CLOSED",
                                                        "FRAME_SIZE_ERROR",
                                                        "REFUSED_STREAM",
                                                        "CANCEL",
                                                        "COMPRESSION_ERROR",
                                                        "CONNECT_ERROR",
                                                        "ENHANCE_YOUR_CALM",
                                                        "INADEQUATE_SECURITY",
                                                        "HTTP_1_1_REQUIRED"};
  if (code < names.size()) return names[code];
  return fmt::format("UNKNOWN_ERROR(0x{:x})", code);
}

}  // namespace tlslab::http
