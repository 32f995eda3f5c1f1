#include "http/site.hpp"

#include "base/text.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <boost/beast/http/status.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/pct_string_view.hpp>
#include <ctime>

#include "base/failure.hpp"

namespace tlslab::http {
namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;

namespace {

std::string header(const Request& req, bhttp::field f) {
  auto it = req.find(f);
  return it == req.end() ? std::string() : std::string(it->value());
}

std::string path_of(const std::string& target) {
  auto q = target.find('?');
  return target.substr(0, q);
}

// url_decode decodes %XX and (in forms) '+' with Boost.URL; nullopt for a malformed escape or an
// encoded NUL (a NUL byte sent as it is stays).
std::optional<std::string> url_decode(std::string_view in, bool plus_is_space) {
  auto escaped = boost::urls::make_pct_string_view(in);
  if (!escaped) return std::nullopt;
  auto out = escaped->decode(boost::urls::encoding_opts{plus_is_space});
  // encoding_opts::disallow_null is not applied by Boost 1.81's decoder: count the NULs instead.
  if (std::count(out.begin(), out.end(), '\0') != std::count(in.begin(), in.end(), '\0')) return std::nullopt;
  return out;
}

std::string form_field(std::string_view body, std::string_view name) {
  size_t start = 0;
  while (start <= body.size()) {
    auto amp = body.find('&', start);
    auto pair = body.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name)
      return url_decode(pair.substr(eq + 1), true).value_or("");
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return {};
}

const char* page_style =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:52em;color:#222}"
    "h1{font-size:1.5em}table{border-collapse:collapse}td{padding:.25em 1em .25em 0;vertical-align:top}"
    "td:first-child{color:#666}code{background:#f3f3f3;padding:0 .2em}.ok{color:#070}.no{color:#a00}";

std::string html_page(const std::string& title, const std::string& body) {
  return fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{}</style></head>\n"
      "<body>\n{}\n</body></html>\n",
      html_escape(title), page_style, body);
}

std::string fact_text(const nlohmann::json& v) {
  if (v.is_null()) return "none";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_string()) return v.get<std::string>().empty() ? "none" : v.get<std::string>();
  return v.dump();
}

Reply connection_page(const Request& req, const nlohmann::json& facts) {
  Reply r;
  auto accept = header(req, bhttp::field::accept);
  if (accept.find("application/json") != std::string::npos) {
    r.content_type = "application/json";
    r.body = facts.dump(2) + "\n";
    return r;
  }
  static const std::pair<const char*, const char*> rows[] = {
      {"tls_version", "TLS version"},     {"cipher_suite", "Cipher suite"},
      {"group", "Key-exchange group"},    {"signature_scheme", "Signature scheme"},
      {"sni", "Server name (SNI)"},       {"alpn", "ALPN protocol"},
      {"resumed", "Session resumed"},     {"client_certificate", "Client certificate"},
      {"client_address", "Your address"}, {"protocol", "Protocol"},
      {"http_version", "HTTP version"},   {"user_agent", "Your browser"}};
  std::string table;
  for (auto [key, label] : rows) {
    if (!facts.contains(key)) continue;
    table += fmt::format("<tr><td>{}</td><td id=\"{}\"><code>{}</code></td></tr>\n", label, key,
                         html_escape(fact_text(facts[key])));
  }
  r.content_type = "text/html; charset=utf-8";
  auto host = facts.contains("sni") && facts["sni"].is_string() ? facts["sni"].get<std::string>() : std::string();
  r.body = html_page("tlslab: your TLS connection",
                     fmt::format("<h1>Your TLS connection{}</h1>\n<table>\n{}</table>\n"
                                 "<p>The same as JSON: <a href=\"/.well-known/tlslab\">/.well-known/tlslab</a>. "
                                 "A login form for the interception lab: <a href=\"/login\">/login</a>.</p>\n"
                                 "<p><small>Served by tlslab.</small></p>",
                                 host.empty() ? "" : " to " + html_escape(host), table));
  return r;
}

Reply login_page(const Request& req) {
  Reply r;
  r.content_type = "text/html; charset=utf-8";
  if (req.method() == bhttp::verb::post) {
    auto user = form_field(req.body(), "username");
    bool has_password = !form_field(req.body(), "password").empty();
    r.body =
        html_page("Welcome", fmt::format("<h1 id=\"welcome\">Welcome, {}</h1>\n<p>{}</p>",
                                         html_escape(user.empty() ? "anonymous" : user),
                                         has_password ? "Your password travelled inside TLS. Did anyone else see it?"
                                                      : "No password was given."));
    return r;
  }
  r.body = html_page("Log in",
                     "<h1>Log in to the bank</h1>\n"
                     "<form method=\"post\" action=\"/login\">\n"
                     "<p><label>User <input name=\"username\" autocomplete=\"username\"></label></p>\n"
                     "<p><label>Password <input name=\"password\" type=\"password\"></label></p>\n"
                     "<p><button type=\"submit\">Log in</button></p>\n</form>");
  return r;
}

std::string listing(const fs::path& dir, const std::string& url_path) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    names.push_back(name + (entry.is_directory(ec) ? "/" : ""));
  }
  std::sort(names.begin(), names.end());
  std::string items;
  for (const auto& n : names) items += fmt::format("<li><a href=\"{}\">{}</a></li>\n", html_escape(n), html_escape(n));
  return html_page("Index of " + url_path,
                   fmt::format("<h1>Index of {}</h1>\n<ul>\n{}</ul>", html_escape(url_path), items));
}

// parse_range reads "bytes=A-B", "bytes=A-", "bytes=-N" for a file of size; nullopt = not
// satisfiable; a header we do not handle (several ranges) yields the whole file.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_range(const std::string& value, std::uint64_t size,
                                                                   bool& valid) {
  valid = true;
  if (value.rfind("bytes=", 0) != 0 || value.find(',') != std::string::npos) {
    valid = false;
    return std::nullopt;
  }
  auto spec = value.substr(6);
  auto dash = spec.find('-');
  if (dash == std::string::npos) {
    valid = false;
    return std::nullopt;
  }
  auto a = spec.substr(0, dash), b = spec.substr(dash + 1);
  auto num = [](const std::string& s, std::uint64_t& out) {
    if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), ::isdigit)) return false;
    out = std::stoull(s);
    return true;
  };
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {
    std::uint64_t n = 0;
    if (!num(b, n)) return valid = false, std::nullopt;
    if (n == 0 || size == 0) return std::nullopt;
    n = std::min(n, size);
    return std::make_pair(size - n, size - 1);
  }
  if (!num(a, first)) return valid = false, std::nullopt;
  if (b.empty())
    last = size ? size - 1 : 0;
  else if (!num(b, last) || last < first)
    return valid = false, std::nullopt;
  if (first >= size) return std::nullopt;
  return std::make_pair(first, std::min(last, size - 1));
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string http_date(std::int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::optional<std::int64_t> parse_http_date(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string content_type_for(const fs::path& path) {
  static const std::pair<const char*, const char*> types[] = {{".html", "text/html; charset=utf-8"},
                                                              {".htm", "text/html; charset=utf-8"},
                                                              {".css", "text/css; charset=utf-8"},
                                                              {".js", "text/javascript; charset=utf-8"},
                                                              {".json", "application/json"},
                                                              {".txt", "text/plain; charset=utf-8"},
                                                              {".png", "image/png"},
                                                              {".jpg", "image/jpeg"},
                                                              {".jpeg", "image/jpeg"},
                                                              {".gif", "image/gif"},
                                                              {".svg", "image/svg+xml"},
                                                              {".ico", "image/x-icon"},
                                                              {".webp", "image/webp"},
                                                              {".pdf", "application/pdf"},
                                                              {".wasm", "application/wasm"},
                                                              {".xml", "application/xml"},
                                                              {".pem", "application/x-pem-file"},
                                                              {".crt", "application/x-x509-ca-cert"},
                                                              {".mp4", "video/mp4"},
                                                              {".woff2", "font/woff2"}};
  auto ext = ascii_lower(path.extension().string());
  for (auto [e, t] : types)
    if (ext == e) return t;
  return "application/octet-stream";
}

Reply error_reply(unsigned status, const std::string& detail) {
  Reply r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  auto reason = std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(status)));
  r.body = html_page(fmt::format("{} {}", status, reason),
                     fmt::format("<h1>{} {}</h1>{}", status, html_escape(reason),
                                 detail.empty() ? "" : "\n<p>" + html_escape(detail) + "</p>"));
  return r;
}

void append_response_head(std::string& out, const Reply& reply, unsigned version, bool keep_alive,
                          std::string_view date) {
  auto it = std::back_inserter(out);
  fmt::format_to(it, "HTTP/{}.{} {} {}\r\nServer: tlslab\r\nDate: {}\r\n", version / 10, version % 10, reply.status,
                 bhttp::obsolete_reason(static_cast<bhttp::status>(reply.status)), date);
  if (reply.status != 304) fmt::format_to(it, "Content-Type: {}\r\n", reply.content_type);
  for (const auto& [name, value] : reply.headers) fmt::format_to(it, "{}: {}\r\n", name, value);
  if (reply.status != 304 && reply.status != 204) fmt::format_to(it, "Content-Length: {}\r\n", reply.content_length());
  // HTTP/1.1 keeps connections open unless told; HTTP/1.0 closes them unless told (RFC 9112 9.3).
  if (version >= 11 && !keep_alive) out += "Connection: close\r\n";
  if (version < 11 && keep_alive) out += "Connection: keep-alive\r\n";
  out += "\r\n";
}

Reply builtin_reply(const Request& req, const nlohmann::json& facts) {
  auto path = path_of(std::string(req.target()));
  if (path == "/" || path == "/index.html") return connection_page(req, facts);
  if (path == "/.well-known/tlslab") {
    Reply r;
    r.content_type = "application/json";
    r.body = facts.dump(2) + "\n";
    return r;
  }
  if (path == "/login") return login_page(req);
  if (path == "/favicon.ico") return error_reply(404);
  return error_reply(404, "tlslab serve has no page " + path + " (start it with --root DIR to serve files)");
}

Reply site_reply(const Request& req, const StaticRoot* root, bool echo, FileCache* cache,
                 const std::function<const nlohmann::json&()>& facts) {
  if (echo) return echo_reply(req);
  if (!root) return builtin_reply(req, facts());
  auto reply = root->reply(req, cache);
  if (reply.status == 404 && path_of(std::string(req.target())) == "/.well-known/tlslab")
    return builtin_reply(req, facts());
  return reply;
}

Reply echo_reply(const Request& req) {
  Reply r;
  r.body = fmt::format("{} {} HTTP/{}.{}\r\n", std::string(req.method_string()), std::string(req.target()),
                       req.version() / 10, req.version() % 10);
  for (const auto& f : req) r.body += fmt::format("{}: {}\r\n", std::string(f.name_string()), std::string(f.value()));
  r.body += "\r\n";
  r.body += req.body();
  return r;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {
// open_beneath opens path (relative) under dir without ever leaving it; -1 and errno on failure
// (EXDEV when the path or a symlink would escape).
int open_beneath(int dir, const std::string& path, int flags) {
  struct open_how how {};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, path.empty() ? "." : path.c_str(), &how, sizeof how));
}
}  // namespace

StaticRoot::StaticRoot(const fs::path& dir) : path_(dir) {
  dir_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_.get() < 0) throw Failure(Kind::Input, fmt::format("--root {}: {}", dir.string(), std::strerror(errno)));
  // Without openat2 (Linux < 5.6, some sandboxes and valgrind) no file could be served safely.
  UniqueFd probe(open_beneath(dir_.get(), "", O_RDONLY));
  if (probe.get() < 0 && errno == ENOSYS)
    throw Failure(Kind::Generic, fmt::format("--root {}: this system has no openat2(2) (Linux 5.6 or later), "
                                             "which keeps every file served inside the folder",
                                             dir.string()));
}

namespace {

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// read_whole reads size bytes of fd from its start; nullptr if the file is shorter now.
std::shared_ptr<const std::string> read_whole(int fd, std::size_t size) {
  auto data = std::make_shared<std::string>(size, '\0');
  for (std::size_t got = 0; got < size;) {
    auto n = ::pread(fd, data->data() + got, size - got, static_cast<off_t>(got));
    if (n <= 0) return nullptr;
    got += static_cast<std::size_t>(n);
  }
  return data;
}

}  // namespace

Reply StaticRoot::reply(const Request& req, FileCache* cache) const {
  auto raw = path_of(std::string(req.target()));
  auto decoded = url_decode(raw, false);
  if (!decoded || decoded->empty() || decoded->front() != '/') return error_reply(400, "malformed path");
  std::string rel = decoded->substr(1);
  struct stat st {};
  if (cache && !rel.empty()) {
    // The path was opened safely beneath the root when the entry was made; the same file (same
    // device and inode) under it now is still that file.
    auto it = cache->entries_.find(rel);
    if (it != cache->entries_.end()) {
      if (::fstatat(dir_.get(), rel.c_str(), &st, 0) == 0 && same_file(st, it->second.st))
        return file_reply(req, rel, st, FileReply{{}, 0, static_cast<std::uint64_t>(st.st_size), it->second.data});
      cache->total_ -= it->second.data->size();
      cache->entries_.erase(it);
    }
  }
  UniqueFd fd(open_beneath(dir_.get(), rel, O_RDONLY));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return error_reply(404);
    if (errno == EXDEV || errno == ELOOP) return error_reply(403, "outside the served directory");
    return error_reply(403);
  }
  if (::fstat(fd.get(), &st) != 0) return error_reply(500);
  bool index = false;
  if (S_ISDIR(st.st_mode)) {
    if (raw.back() != '/') {
      Reply r = error_reply(301);
      r.headers.emplace_back("Location", raw + "/");
      return r;
    }
    UniqueFd index_fd(open_beneath(dir_.get(), rel + "index.html", O_RDONLY));
    struct stat ist {};
    if (index_fd.get() >= 0 && ::fstat(index_fd.get(), &ist) == 0 && S_ISREG(ist.st_mode)) {
      fd = std::move(index_fd);
      st = ist;
      rel += "index.html";
      index = true;
    } else {
      Reply r;
      r.content_type = "text/html; charset=utf-8";
      r.body = listing(path_ / rel, *decoded);
      return r;
    }
  }
  if (!S_ISREG(st.st_mode)) return error_reply(403);
  auto size = static_cast<std::uint64_t>(st.st_size);
  FileReply file{std::move(fd), 0, size, nullptr};
  if (cache && !index && size <= cache->max_file_) {
    if (auto data = read_whole(file.fd.get(), size)) {
      if (cache->total_ + size > cache->max_total_) {
        cache->entries_.clear();
        cache->total_ = 0;
      }
      cache->entries_[rel] = FileCache::Entry{data, st};
      cache->total_ += size;
      file.data = std::move(data);
      file.fd.reset();
    }
  }
  return file_reply(req, rel, st, std::move(file));
}

Reply StaticRoot::file_reply(const Request& req, const std::string& rel, const struct stat& st, FileReply file) const {
  auto size = static_cast<std::uint64_t>(st.st_size);
  auto mtime = static_cast<std::int64_t>(st.st_mtime);
  Reply r;
  r.content_type = content_type_for(rel);
  r.headers.emplace_back("Last-Modified", http_date(mtime));
  r.headers.emplace_back("Accept-Ranges", "bytes");
  if (auto ims = header(req, bhttp::field::if_modified_since); !ims.empty()) {
    if (auto since = parse_http_date(ims); since && mtime <= *since) {
      r.status = 304;
      return r;
    }
  }
  r.file = std::move(file);
  if (auto range = header(req, bhttp::field::range); !range.empty()) {
    bool valid = true;
    auto span = parse_range(range, size, valid);
    if (span) {
      r.status = 206;
      r.file->offset = span->first;
      r.file->length = span->second - span->first + 1;
      r.headers.emplace_back("Content-Range", fmt::format("bytes {}-{}/{}", span->first, span->second, size));
    } else if (valid) {
      Reply e = error_reply(416);
      e.headers.emplace_back("Content-Range", fmt::format("bytes */{}", size));
      return e;
    }
  }
  return r;
}

}  // namespace tlslab::http
