#include "http/client_exchange.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/beast/http/error.hpp>

#include "base/failure.hpp"
#include "base/text.hpp"
#include "http/streaming_parser.hpp"
#include "ossl/ptr.hpp"

namespace tlslab::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

// Parser receives Beast's callbacks and keeps the facts.
class Parser : public StreamingParser<false> {
 public:
  Parser(ResponseReader::Sink sink, ResponseInfo& info, ossl::Ptr<EVP_MD_CTX>& sha)
      : sink_(std::move(sink)), info_(info), sha_(sha) {}

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int, beast::error_code& ec) override {
    ec = bhttp::error::bad_method;
  }
  void on_response_impl(int code, beast::string_view reason, int version, beast::error_code&) override {
    info_.status = code;
    info_.reason = std::string(reason);
    info_.version = fmt::format("HTTP/{}.{}", version / 10, version % 10);
  }
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value, beast::error_code&) override {
    info_.headers.emplace_back(std::string(name), std::string(value));
  }
  void on_header_impl(beast::error_code&) override {
    if (chunked())
      info_.framing = "chunked";
    else if (content_length())
      info_.framing = "content-length";
    else if (!need_eof())
      info_.framing = "none";
    else
      info_.framing = "until close";
  }
  void on_body_bytes(std::string_view body) override {
    info_.body_bytes += body.size();
    if (!info_.body_has_nul && body.find('\0') != std::string_view::npos) info_.body_has_nul = true;
    EVP_DigestUpdate(sha_.get(), body.data(), body.size());
    sink_(body);
  }

  ResponseReader::Sink sink_;
  ResponseInfo& info_;
  ossl::Ptr<EVP_MD_CTX>& sha_;
};

}  // namespace

std::pair<std::string, std::string> parse_header_option(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) throw Failure(Kind::Usage, fmt::format("-H '{}': expected 'Name: value'", text));
  auto name = text.substr(0, colon);
  auto value = text.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  if (!is_token(name)) throw Failure(Kind::Usage, fmt::format("-H '{}': '{}' is not a valid header name", text, name));
  if (value.find_first_of("\r\n") != std::string_view::npos)
    throw Failure(Kind::Usage, fmt::format("-H '{}': a header value cannot contain a line break", name));
  return {std::string(name), std::string(value)};
}

std::string serialize_request(const RequestSpec& spec) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Host", spec.host},
      {"User-Agent", spec.user_agent},
      {"Accept", "*/*"},
      {"Connection", "close"},
  };
  if (!spec.body.empty() || spec.method == "POST" || spec.method == "PUT")
    headers.emplace_back("Content-Length", std::to_string(spec.body.size()));
  for (const auto& header : spec.headers) {
    const auto& [name, value] = header;
    auto wanted = ascii_lower(name);
    auto it =
        std::find_if(headers.begin(), headers.end(), [&](const auto& h) { return ascii_lower(h.first) == wanted; });
    if (it != headers.end()) {
      if (value.empty())
        headers.erase(it);
      else
        it->second = value;
    } else if (!value.empty()) {
      headers.emplace_back(name, value);
    }
  }
  std::string out = fmt::format("{} {} HTTP/1.1\r\n", spec.method, spec.target);
  for (const auto& [name, value] : headers) out += fmt::format("{}: {}\r\n", name, value);
  out += "\r\n";
  out += spec.body;
  return out;
}

struct ResponseReader::Impl {
  ResponseInfo info;
  ossl::Ptr<EVP_MD_CTX> sha{EVP_MD_CTX_new()};
  Parser parser;
  std::string pending;  // bytes Beast has not consumed yet
  Impl(Sink sink) : parser(std::move(sink), info, sha) {}

  void check(const beast::error_code& ec) {
    if (!ec || ec == bhttp::error::need_more) return;
    if (ec == bhttp::error::body_limit)
      throw Failure(Kind::TooLarge, fmt::format("response body larger than the --max-filesize limit (after {} bytes)",
                                                info.body_bytes));
    if (ec == bhttp::error::header_limit) throw Failure(Kind::Receive, "response header larger than 64 KiB; giving up");
    if (ec == bhttp::error::partial_message)
      throw Failure(Kind::Receive, fmt::format("the server closed the connection in the middle of the response "
                                               "(after {} body bytes)",
                                               info.body_bytes));
    throw Failure(Kind::Receive, fmt::format("the server's reply is not valid HTTP/1.1: {}", ec.message()));
  }
};

ResponseReader::ResponseReader(Sink sink, std::optional<std::uint64_t> max_body, bool head_request)
    : impl_(std::make_unique<Impl>(std::move(sink))) {
  EVP_DigestInit_ex(impl_->sha.get(), EVP_sha256(), nullptr);
  impl_->parser.eager(true);
  impl_->parser.header_limit(64 * 1024);
  if (max_body)
    impl_->parser.body_limit(*max_body);
  else
    impl_->parser.body_limit(boost::none);
  impl_->parser.skip(head_request);
}

ResponseReader::~ResponseReader() = default;

void ResponseReader::feed(std::string_view data) {
  auto& p = impl_->parser;
  impl_->pending.append(data);
  std::string_view rest = impl_->pending;
  while (!rest.empty() && !p.is_done()) {
    beast::error_code ec;
    auto used = p.put(boost::asio::const_buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(used);
    if (ec == bhttp::error::need_more) break;
    impl_->check(ec);
    if (used == 0) break;
  }
  impl_->pending = std::string(rest);
}

void ResponseReader::finish_eof() {
  if (impl_->parser.is_done()) return;
  if (!impl_->parser.got_some())
    throw Failure(Kind::Receive, "the server closed the connection without sending a response");
  beast::error_code ec;
  impl_->parser.put_eof(ec);
  impl_->check(ec);
}

bool ResponseReader::header_done() const { return impl_->parser.is_header_done(); }
bool ResponseReader::done() const { return impl_->parser.is_done(); }
int ResponseReader::status() const { return impl_->info.status; }

ResponseInfo ResponseReader::info() const {
  ResponseInfo out = impl_->info;
  if (impl_->parser.is_done()) {
    ossl::Ptr<EVP_MD_CTX> copy(EVP_MD_CTX_new());
    EVP_MD_CTX_copy_ex(copy.get(), impl_->sha.get());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(copy.get(), digest, &len);
    for (unsigned i = 0; i < len; ++i) out.body_sha256 += fmt::format("{:02x}", digest[i]);
  }
  return out;
}

namespace {

class Http1Exchange final : public ClientExchange {
 public:
  Http1Exchange(const RequestSpec& spec, Sink sink, std::optional<std::uint64_t> max_body, bool head_request)
      : request_(serialize_request(spec)), reader_(std::move(sink), max_body, head_request) {}

  bool take_output(std::string& out) override {
    if (sent_) return false;
    sent_ = true;
    out.append(request_);
    return true;
  }
  void feed(std::string_view data) override { reader_.feed(data); }
  void finish_eof() override { reader_.finish_eof(); }
  [[nodiscard]] bool header_done() const override { return reader_.header_done(); }
  [[nodiscard]] int status() const override { return reader_.status(); }
  [[nodiscard]] bool done() const override { return reader_.done(); }
  [[nodiscard]] ResponseInfo info() const override { return reader_.info(); }

 private:
  std::string request_;
  bool sent_ = false;
  ResponseReader reader_;
};

}  // namespace

std::unique_ptr<ClientExchange> make_http1_exchange(const RequestSpec& spec, ClientExchange::Sink sink,
                                                    std::optional<std::uint64_t> max_body, bool head_request) {
  return std::make_unique<Http1Exchange>(spec, std::move(sink), max_body, head_request);
}

}  // namespace tlslab::http
