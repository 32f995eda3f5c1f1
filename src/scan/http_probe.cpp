#include "scan/http_probe.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdlib>

#include "base/text.hpp"
#include "http/client_exchange.hpp"

namespace tlslab::scan {
namespace bhttp = boost::beast::http;

std::string probe_request(std::string_view host_header) {
  http::RequestSpec spec;
  spec.host = std::string(host_header);
  spec.user_agent = "tlslab/scan";
  spec.headers = {{"Accept", ""}};  // an empty value drops the default
  return http::serialize_request(spec);
}

std::optional<std::int64_t> hsts_max_age(std::string_view value) {
  auto lower = ascii_lower(value);
  auto m = lower.find("max-age=");
  if (m == std::string::npos) return std::nullopt;
  auto digits = m + 8;
  if (digits < lower.size() && lower[digits] == '"') ++digits;
  return std::atoll(lower.c_str() + digits);
}

HttpHead read_http_head(std::string_view response) {
  HttpHead head;
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.skip(true);               // the head is all the scan wants
  parser.header_limit(64 * 1024);  // the scan reads at most 16 KiB
  boost::beast::error_code ec;
  parser.put(boost::asio::const_buffer(response.data(), response.size()), ec);
  if (!parser.is_header_done()) return head;
  const auto& msg = parser.get();
  head.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    if (ascii_lower(field.name_string()) != "strict-transport-security") continue;
    head.hsts = std::string(field.value());
    if (auto age = hsts_max_age(field.value())) head.hsts_max_age = age;
  }
  return head;
}

}  // namespace tlslab::scan
