// What `tlslab serve` answers: the built-in pages, static files under --root, and --echo.
//
// Pure request -> Reply logic (no sockets): the server in net/ carries the reply out, streaming a
// file reply from disk in pieces.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tlslab::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

// UniqueFd owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }
  void reset(int fd = -1);
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_ = -1;
};

struct FileReply {
  UniqueFd fd;  // open on the file, read with pread
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Reply {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;               // used when there is no file
  std::optional<FileReply> file;  // stream this instead of body
  [[nodiscard]] std::uint64_t content_length() const { return file ? file->length : body.size(); }
};

// builtin_reply serves the built-in site: "/" (the visitor's own connection, HTML, or JSON with
// Accept: application/json), "/.well-known/tlslab" (JSON), "/login" (a form; POST shows who
// logged in — the lab's interception target), anything else 404. facts describe the connection.
[[nodiscard]] Reply builtin_reply(const Request& request, const nlohmann::json& facts);

// StaticRoot serves files under a directory opened once: content types by extension, HEAD, a
// single byte Range (206/416), If-Modified-Since (304), directory index (index.html, else a
// listing), and never a file outside the directory (403), symlinks included — the kernel enforces
// it (openat2 with RESOLVE_BENEATH), in one system call per file.
class StaticRoot {
 public:
  // Failure{Input} if dir is not a readable directory.
  explicit StaticRoot(const std::filesystem::path& dir);
  [[nodiscard]] Reply reply(const Request& request) const;

 private:
  UniqueFd dir_;
  std::filesystem::path path_;
};

// echo_reply answers with the request as received (request line, headers, body).
[[nodiscard]] Reply echo_reply(const Request& request);

// error_reply is a small HTML page for status ("413 Content Too Large").
[[nodiscard]] Reply error_reply(unsigned status, const std::string& detail = {});

// content_type_for maps a file name's extension to a MIME type.
[[nodiscard]] std::string content_type_for(const std::filesystem::path& path);

// http_date formats a time as in HTTP headers: "Sat, 28 Nov 2026 21:08:04 GMT"; parse_http_date
// reads one back (nullopt if it is not one).
[[nodiscard]] std::string http_date(std::int64_t epoch_seconds);
[[nodiscard]] std::optional<std::int64_t> parse_http_date(const std::string& text);

// html_escape makes text safe inside HTML.
[[nodiscard]] std::string html_escape(std::string_view text);

}  // namespace tlslab::http
