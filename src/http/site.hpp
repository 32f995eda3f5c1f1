// What `tlslab serve` answers: the built-in pages, static files under --root, and --echo.
//
// Pure request -> Reply logic (no sockets): the server in net/ carries the reply out, streaming a
// file reply from disk in pieces.
#pragma once

#include <sys/stat.h>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
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
  std::shared_ptr<const std::string> data;  // the whole file when a FileCache holds it (then no fd)
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

// FileCache holds the contents of small files a StaticRoot served, for one thread. An entry is
// used only while a stat of its path still shows the same file (device, inode, size, modification
// and change times), so an edited file is never served stale; a hit costs one system call where
// opening, reading and closing the file costs four. When full it starts again empty.
class FileCache {
 public:
  explicit FileCache(std::size_t max_file = 64 * 1024, std::size_t max_total = 16 * 1024 * 1024)
      : max_file_(max_file), max_total_(max_total) {}

 private:
  friend class StaticRoot;
  struct Entry {
    std::shared_ptr<const std::string> data;
    struct stat st;
  };
  std::size_t max_file_, max_total_, total_ = 0;
  std::unordered_map<std::string, Entry> entries_;
};

// StaticRoot serves files under a directory opened once: content types by extension, HEAD, a
// single byte Range (206/416), If-Modified-Since (304), directory index (index.html, else a
// listing), and never a file outside the directory (403), symlinks included — the kernel enforces
// it (openat2 with RESOLVE_BENEATH), in one system call per file.
class StaticRoot {
 public:
  // Failure{Input} if dir is not a readable directory.
  explicit StaticRoot(const std::filesystem::path& dir);
  // reply answers request; with a cache, small files come from it (and go into it).
  [[nodiscard]] Reply reply(const Request& request, FileCache* cache = nullptr) const;

 private:
  [[nodiscard]] Reply file_reply(const Request& request, const std::string& rel, const struct stat& st,
                                 FileReply file) const;

  UniqueFd dir_;
  std::filesystem::path path_;
};

// site_reply answers request as serve does: with --echo (echo) the request itself; with --root
// (root) a file, except that /.well-known/tlslab stays the connection's JSON unless a file of that
// name exists; else the built-in pages. facts() is asked only when an answer shows them.
[[nodiscard]] Reply site_reply(const Request& request, const StaticRoot* root, bool echo, FileCache* cache,
                               const std::function<const nlohmann::json&()>& facts);

// echo_reply answers with the request as received (request line, headers, body).
[[nodiscard]] Reply echo_reply(const Request& request);

// error_reply is a small HTML page for status ("413 Content Too Large").
[[nodiscard]] Reply error_reply(unsigned status, const std::string& detail = {});

// append_response_head appends the status line and header fields of reply to out, as sent for a
// request of HTTP version (10 or 11): Server, Date (date, an http_date), Content-Type, the reply's
// own fields, Content-Length (none for 204 and 304) and Connection as keep_alive says. The body
// follows; for a HEAD request Content-Length still gives the length of the body not sent.
void append_response_head(std::string& out, const Reply& reply, unsigned version, bool keep_alive,
                          std::string_view date);

// content_type_for maps a file name's extension to a MIME type.
[[nodiscard]] std::string content_type_for(const std::filesystem::path& path);

// http_date formats a time as in HTTP headers: "Sat, 28 Nov 2026 21:08:04 GMT"; parse_http_date
// reads one back (nullopt if it is not one).
[[nodiscard]] std::string http_date(std::int64_t epoch_seconds);
[[nodiscard]] std::optional<std::int64_t> parse_http_date(const std::string& text);

// html_escape makes text safe inside HTML.
[[nodiscard]] std::string html_escape(std::string_view text);

}  // namespace tlslab::http
