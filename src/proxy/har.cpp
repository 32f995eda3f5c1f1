#include "proxy/har.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <cmath>
#include <ctime>

namespace tlslab::proxy {
namespace {

std::string iso_ms(double epoch_ms) {
  auto secs = static_cast<std::time_t>(epoch_ms / 1000);
  auto ms = static_cast<int>(std::fmod(epoch_ms, 1000.0));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", tm, ms);
}

nlohmann::json header_list(const Headers& headers) {
  auto out = nlohmann::json::array();
  for (const auto& [name, value] : headers) out.push_back({{"name", name}, {"value", value}});
  return out;
}

bool is_text(const std::string& mime) {
  return mime.rfind("text/", 0) == 0 || mime.find("json") != std::string::npos ||
         mime.find("xml") != std::string::npos || mime.find("javascript") != std::string::npos ||
         mime.find("x-www-form-urlencoded") != std::string::npos;
}

std::string base64(const std::string& data) {
  static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(data[i]) << 16 | static_cast<unsigned char>(data[i + 1]) << 8 |
                 static_cast<unsigned char>(data[i + 2]);
    out += {chars[n >> 18 & 63], chars[n >> 12 & 63], chars[n >> 6 & 63], chars[n & 63]};
  }
  if (i < data.size()) {
    unsigned n = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += chars[n >> 18 & 63];
    out += chars[n >> 12 & 63];
    out += i + 1 < data.size() ? chars[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

// query_list reads the target's query string (Boost.URL), names and values decoded as a server
// reads them ('+' a space); a target that does not parse has none.
nlohmann::json query_list(const std::string& target) {
  auto out = nlohmann::json::array();
  auto url = boost::urls::parse_uri_reference(target);
  if (!url || !url->has_query()) return out;
  const boost::urls::encoding_opts form{true};
  for (auto p : url->encoded_params())
    out.push_back({{"name", p.key.decode(form)}, {"value", p.has_value ? p.value.decode(form) : std::string()}});
  return out;
}

double span(double from, double to) { return from > 0 && to >= from ? to - from : 0; }

}  // namespace

nlohmann::json har_entry(const Flow& f, std::optional<std::size_t> body_cap) {
  auto cut = [&](const std::string& kept, std::uint64_t bytes) { return bytes > body_cap.value_or(kept.size()); };
  auto req_type = f.request_header("Content-Type");
  auto resp_type = f.response_header("Content-Type");
  nlohmann::json request = {
      {"method", f.method},
      {"url", f.url()},
      {"httpVersion", f.http_version},
      {"cookies", nlohmann::json::array()},
      {"headers", header_list(f.request_headers)},
      {"queryString", query_list(f.target)},
      {"headersSize", static_cast<long long>(f.request_header_bytes)},
      {"bodySize", static_cast<long long>(f.request_body_bytes)},
  };
  if (f.request_body_bytes) {
    request["postData"] = {{"mimeType", req_type}, {"text", f.request_body}};
    if (cut(f.request_body, f.request_body_bytes)) request["postData"]["comment"] = "truncated by tlslab";
  }
  nlohmann::json content = {{"size", static_cast<long long>(f.response_body_bytes)}, {"mimeType", resp_type}};
  if (!f.response_body.empty()) {
    if (is_text(resp_type)) {
      content["text"] = f.response_body;
    } else {
      content["text"] = base64(f.response_body);
      content["encoding"] = "base64";
    }
    if (cut(f.response_body, f.response_body_bytes)) content["comment"] = "truncated by tlslab";
  }
  double send = span(f.started_ms, f.request_done_ms);
  double wait = span(f.request_done_ms, f.response_start_ms);
  double receive = span(f.response_start_ms, f.response_done_ms);
  return {
      {"startedDateTime", iso_ms(f.started_ms)},
      {"time", send + wait + receive},
      {"request", request},
      {"response",
       {{"status", f.status},
        {"statusText", f.reason},
        {"httpVersion", f.response_version},
        {"cookies", nlohmann::json::array()},
        {"headers", header_list(f.response_headers)},
        {"content", content},
        {"redirectURL", f.response_header("Location")},
        {"headersSize", static_cast<long long>(f.response_header_bytes)},
        {"bodySize", static_cast<long long>(f.response_body_bytes)}}},
      {"cache", nlohmann::json::object()},
      {"timings",
       {{"blocked", -1},
        {"dns", -1},
        {"connect", -1},
        {"ssl", -1},
        {"send", send},
        {"wait", wait},
        {"receive", receive}}},
      {"serverIPAddress", ""},
      {"comment", f.complete ? "" : "the connection ended before the response was complete"},
  };
}

nlohmann::json har_document(const std::vector<nlohmann::json>& entries, const std::string& version) {
  return {{"log",
           {{"version", "1.2"},
            {"creator", {{"name", "tlslab"}, {"version", version}}},
            {"pages", nlohmann::json::array()},
            {"entries", entries}}}};
}

}  // namespace tlslab::proxy
