#include "http/h2_client_exchange.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "base/failure.hpp"
#include "base/text.hpp"
#include "ossl/ptr.hpp"

namespace tlslab::http {
namespace {

constexpr std::uint32_t kNoError = 0, kCancel = 8;

bool connection_specific(std::string_view lower_name, std::string_view value) {
  static constexpr std::array<std::string_view, 6> names = {"connection",        "keep-alive", "proxy-connection",
                                                            "transfer-encoding", "upgrade",    "host"};
  if (lower_name == "te") return ascii_lower(value) != "trailers";
  return std::find(names.begin(), names.end(), lower_name) != names.end();
}

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

class H2Exchange final : public ClientExchange, private H2Listener {
 public:
  H2Exchange(const RequestSpec& spec, Sink sink, std::optional<std::uint64_t> max_body, bool head_request, bool trace)
      : sink_(std::move(sink)),
        max_body_(max_body),
        head_request_(head_request),
        session_(H2Session::Role::Client, *this) {
    EVP_DigestInit_ex(sha_.get(), EVP_sha256(), nullptr);
    if (trace) {
      sent_frames_ = std::make_unique<H2FrameDecoder>(true, true);
      received_frames_ = std::make_unique<H2FrameDecoder>(false);
    }
    info_.version = "HTTP/2";
    info_.http2 = Http2Facts{};
    stream_ = session_.submit_request(h2_request_fields(spec), spec.body.empty());
    if (stream_ < 0) throw Failure(Kind::Generic, session_.error());
    info_.http2->stream = stream_;
    if (!spec.body.empty()) {
      session_.send_data(stream_, spec.body);
      session_.end_stream(stream_);
    }
  }

  bool take_output(std::string& out) override {
    auto start = out.size();
    if (!session_.take_output(out)) return false;
    if (sent_frames_) sent_frames_->feed(std::string_view(out).substr(start), frames_);
    return true;
  }

  void feed(std::string_view data) override {
    if (received_frames_) received_frames_->feed(data, frames_);
    if (done_) return;  // after END_STREAM: a GOAWAY's answer, say; nothing to read
    bool ok = session_.receive(data);
    // A connection error closes our stream too: the connection's reason is the one to give.
    if (!ok && (!failure_ || failure_->kind() == Kind::Receive)) {
      failure_.reset();
      failed_ = true;
      throw Failure(Kind::Receive, fmt::format("the server broke the HTTP/2 connection: {}", session_.error()));
    }
    rethrow();
  }

  void finish_eof() override {
    if (done_) return;
    rethrow();
    auto after = goaway_.empty() ? std::string() : fmt::format(" after {}", goaway_);
    if (!header_done_)
      throw Failure(Kind::Receive, fmt::format("the server closed the connection{} without sending a response", after));
    throw Failure(Kind::Receive, fmt::format("the server closed the connection{} in the middle of the response "
                                             "(after {} body bytes)",
                                             after, info_.body_bytes));
  }

  [[nodiscard]] bool header_done() const override { return header_done_; }
  [[nodiscard]] int status() const override { return info_.status; }
  [[nodiscard]] bool done() const override { return done_; }

  [[nodiscard]] ResponseInfo info() const override {
    ResponseInfo out = info_;
    out.http2->server_settings = session_.peer_settings().entries;
    if (done_) {
      ossl::Ptr<EVP_MD_CTX> copy(EVP_MD_CTX_new());
      EVP_MD_CTX_copy_ex(copy.get(), sha_.get());
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned len = 0;
      EVP_DigestFinal_ex(copy.get(), digest, &len);
      for (unsigned i = 0; i < len; ++i) out.body_sha256 += fmt::format("{:02x}", digest[i]);
    }
    return out;
  }

  void take_frames(std::vector<H2TraceFrame>& out) override {
    std::move(frames_.begin(), frames_.end(), std::back_inserter(out));
    frames_.clear();
  }

 private:
  // fail keeps the first failure found inside the session's callbacks (they must not throw);
  // feed throws it once receive returns.
  void fail(Kind kind, std::string message) {
    if (!failure_) failure_.emplace(kind, std::move(message));
  }
  void rethrow() {
    if (failure_) {
      auto f = std::move(*failure_);
      failure_.reset();
      failed_ = true;
      throw f;
    }
  }

  void finish() {
    done_ = true;
    info_.http2->stream_end = "end_stream";
    session_.goaway(kNoError);
  }

  void on_headers(std::int32_t stream, H2Fields fields, bool end_stream) override {
    if (stream != stream_ || failed_) return;
    if (!fields.empty() && fields.front().name == ":status" && fields.front().value.starts_with('1')) return;
    for (auto& f : fields) {
      if (f.name == ":status") {
        info_.status = static_cast<int>(number(f.value).value_or(0));
      } else if (!f.name.starts_with(':')) {
        info_.headers.emplace_back(std::move(f.name), std::move(f.value));
      }
    }
    header_done_ = true;
    info_.framing = end_stream ? "none" : "data frames";
    if (max_body_ && !head_request_) {
      auto it = std::find_if(info_.headers.begin(), info_.headers.end(),
                             [](const auto& h) { return h.first == "content-length"; });
      if (it != info_.headers.end())
        if (auto length = number(it->second); length && *length > *max_body_) {
          too_large(fmt::format("the server announced a body of {} bytes", *length));
          return;
        }
    }
    if (end_stream) finish();
  }

  void on_trailers(std::int32_t stream, H2Fields fields) override {
    if (stream != stream_ || failed_) return;
    for (auto& f : fields) info_.trailers.emplace_back(std::move(f.name), std::move(f.value));
    finish();
  }

  void on_data(std::int32_t stream, std::string_view bytes) override {
    session_.consume(stream, bytes.size());
    if (stream != stream_ || failure_ || failed_) return;
    if (max_body_ && info_.body_bytes + bytes.size() > *max_body_) {
      too_large(fmt::format("after {} bytes", info_.body_bytes));
      return;
    }
    info_.body_bytes += bytes.size();
    if (!info_.body_has_nul && bytes.find('\0') != std::string_view::npos) info_.body_has_nul = true;
    EVP_DigestUpdate(sha_.get(), bytes.data(), bytes.size());
    try {
      sink_(bytes);
    } catch (const Failure& f) {
      fail(f.kind(), f.what());
      cancel();
    }
  }

  void on_end_stream(std::int32_t stream) override {
    if (stream == stream_ && !failure_ && !failed_) finish();
  }

  void on_stream_closed(std::int32_t stream, std::uint32_t error_code, bool reset_by_peer) override {
    if (stream != stream_ || done_) return;
    info_.http2->error_code = error_code;
    if (reset_by_peer) {
      info_.http2->stream_end = "reset_by_server";
      fail(Kind::Receive, fmt::format("the server reset the stream (RST_STREAM {}) {}", h2_error_name(error_code),
                                      header_done_ ? fmt::format("after {} body bytes", info_.body_bytes)
                                                   : std::string("before answering")));
    } else if (error_code == 7 /* REFUSED_STREAM: a GOAWAY left it out */) {
      fail(Kind::Receive,
           fmt::format("the server did not take the request{}", goaway_.empty() ? "" : fmt::format(" ({})", goaway_)));
    } else if (error_code != kNoError) {
      info_.http2->stream_end = "reset_by_client";
      fail(Kind::Receive, fmt::format("tlslab reset the stream with {}: the server's response broke the rules of "
                                      "HTTP/2 (RFC 9113 §8.1.1)",
                                      h2_error_name(error_code)));
    }
  }

  void on_goaway(std::int32_t last_stream, std::uint32_t error_code) override {
    goaway_ = fmt::format("GOAWAY {}, last stream {}", h2_error_name(error_code), last_stream);
  }

  void too_large(const std::string& detail) {
    fail(Kind::TooLarge, fmt::format("response body larger than the --max-filesize limit ({})", detail));
    cancel();
  }

  void cancel() {
    info_.http2->stream_end = "reset_by_client";
    info_.http2->error_code = kCancel;
    session_.reset(stream_, kCancel);
  }

  Sink sink_;
  std::optional<std::uint64_t> max_body_;
  bool head_request_;
  ResponseInfo info_;
  ossl::Ptr<EVP_MD_CTX> sha_{EVP_MD_CTX_new()};
  std::optional<Failure> failure_;
  bool failed_ = false;  // a failure was thrown: what follows is not the response's
  bool header_done_ = false;
  bool done_ = false;
  std::string goaway_;  // "GOAWAY NO_ERROR, last stream 0" once one came
  std::vector<H2TraceFrame> frames_;
  std::unique_ptr<H2FrameDecoder> sent_frames_, received_frames_;
  H2Session session_;  // last: its callbacks reach the members above
  std::int32_t stream_ = -1;
};

}  // namespace

H2Fields h2_request_fields(const RequestSpec& spec) {
  std::string authority = spec.host;
  H2Fields regular = {{"user-agent", spec.user_agent}, {"accept", "*/*"}};
  if (!spec.body.empty() || spec.method == "POST" || spec.method == "PUT")
    regular.push_back({"content-length", std::to_string(spec.body.size())});
  for (const auto& [name, value] : spec.headers) {
    auto lower = ascii_lower(name);
    if (lower == "host") {
      if (!value.empty()) authority = value;
      continue;
    }
    auto it = std::find_if(regular.begin(), regular.end(), [&](const H2Field& f) { return f.name == lower; });
    if (it != regular.end()) {
      if (value.empty())
        regular.erase(it);
      else
        it->value = value;
    } else if (!value.empty() && !connection_specific(lower, value)) {
      regular.push_back({lower, value});
    }
  }
  H2Fields fields = {{":method", spec.method}, {":scheme", "https"}, {":authority", authority}, {":path", spec.target}};
  fields.insert(fields.end(), regular.begin(), regular.end());
  return fields;
}

std::unique_ptr<ClientExchange> make_h2_exchange(const RequestSpec& spec, ClientExchange::Sink sink,
                                                 std::optional<std::uint64_t> max_body, bool head_request, bool trace) {
  return std::make_unique<H2Exchange>(spec, std::move(sink), max_body, head_request, trace);
}

}  // namespace tlslab::http
