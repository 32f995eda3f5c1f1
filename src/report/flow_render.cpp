#include "report/flow_render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

namespace tlslab::report {
namespace {

// span is the time from one timestamp to a later one; none when either was never reached (a
// timestamp is 0 until then) or the clock went back.
std::optional<double> span(double from, double to) {
  if (from <= 0 || to <= 0 || to < from) return std::nullopt;
  return to - from;
}

std::string why_cut(const proxy::Flow& f) { return f.error.empty() ? std::string("the connection ended") : f.error; }

bool printable(const std::string& body) {
  return std::all_of(body.begin(), body.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 || c == '\n' || c == '\r' || c == '\t';
  });
}

}  // namespace

std::string legs_text(const std::optional<proxy::Legs>& legs) {
  if (!legs) return {};
  const auto& l = *legs;
  return fmt::format("client {}{}, server {}{}{}", l.client_version, l.client_alpn.empty() ? "" : " " + l.client_alpn,
                     l.server_version, l.server_alpn.empty() ? "" : " " + l.server_alpn, l.resumed ? ", resumed" : "");
}

std::string flow_line(const proxy::Flow& f, const std::string& client) {
  auto head = fmt::format("{} {} \"{} {}\"", client, f.host, f.method, f.url());
  if (f.status == 0) {
    auto after = span(f.started_ms, f.response_done_ms);
    return after ? fmt::format("{} no response (cut after {:.1f} ms: {})", head, *after, why_cut(f))
                 : fmt::format("{} no response ({})", head, why_cut(f));
  }
  auto out = fmt::format("{} {} up {} B, down {} B", head, f.status, f.request_body_bytes, f.response_body_bytes);
  if (auto total = span(f.started_ms, f.response_done_ms)) out += fmt::format(", {:.1f} ms", *total);
  if (auto first = span(f.started_ms, f.response_start_ms)) out += fmt::format(" (first byte {:.1f} ms)", *first);
  if (!f.complete) out += fmt::format(" (cut short: {})", why_cut(f));
  return out;
}

std::string flow_json_line(const proxy::Flow& f, const std::string& client) {
  auto number = [](std::optional<double> v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return nlohmann::json{{"client", client},
                        {"host", f.host},
                        {"method", f.method},
                        {"url", f.url()},
                        {"status", f.status ? nlohmann::json(f.status) : nlohmann::json(nullptr)},
                        {"bytes_up", f.request_body_bytes},
                        {"bytes_down", f.response_body_bytes},
                        {"ms", number(span(f.started_ms, f.response_done_ms))},
                        {"ttfb_ms", number(span(f.started_ms, f.response_start_ms))},
                        {"complete", f.complete},
                        {"error", f.complete ? nlohmann::json(nullptr) : nlohmann::json(why_cut(f))}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string flow_dump(const proxy::Flow& f, const std::vector<proxy::Secret>& secrets, const DumpOptions& options,
                      const FlowPlace& place) {
  std::string out = fmt::format("──── {} → {} ({}; {})\n> {} {} {}\n", place.client, f.host, place.upstream,
                                legs_text(place.legs), f.method, f.target, f.http_version);
  for (const auto& [n, v] : f.request_headers) out += fmt::format("> {}: {}\n", n, v);
  if (!f.request_body.empty())
    out += printable(f.request_body) ? "> \n> " + f.request_body + "\n"
                                     : fmt::format("> ({} bytes of binary body)\n", f.request_body_bytes);
  for (const auto& [n, v] : f.request_trailers) out += fmt::format("> (trailer) {}: {}\n", n, v);
  for (const auto& s : secrets)
    out += fmt::format("  !! {} {} = {}\n", s.where, s.name, options.masked ? std::string(proxy::kMask) : s.value);
  if (f.status == 0) return out + "< (no response)\n";
  out += fmt::format("< {} {} {}\n", f.response_version, f.status, f.reason);
  for (const auto& [n, v] : f.response_headers) out += fmt::format("< {}: {}\n", n, v);
  if (!f.response_body.empty()) {
    if (printable(f.response_body)) {
      auto shown = f.response_body.substr(0, 4096);
      out += "< \n< " + shown +
             (f.response_body.size() > shown.size() || f.response_body_bytes > options.body_cap
                  ? fmt::format("\n< … ({} bytes in all)", f.response_body_bytes)
                  : "") +
             "\n";
    } else {
      out += fmt::format("< ({} bytes of binary body)\n", f.response_body_bytes);
    }
  }
  for (const auto& [n, v] : f.response_trailers) out += fmt::format("< (trailer) {}: {}\n", n, v);
  return out;
}

}  // namespace tlslab::report
