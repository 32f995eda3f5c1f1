#include "serve/facts.hpp"

#include <fmt/format.h>

#include <string>

namespace tlslab::serve {

const nlohmann::json& PageFacts::describe(const std::function<const tls::ConnectionFacts&()>& tls,
                                          std::string_view client, const http::Request& req) {
  namespace bhttp = boost::beast::http;
  auto ua_field = req.find(bhttp::field::user_agent);
  auto ua = ua_field == req.end() ? nlohmann::json(nullptr) : nlohmann::json(std::string(ua_field->value()));
  auto version = fmt::format("HTTP/{}.{}", req.version() / 10, req.version() % 10);
  // The protocol as ALPN names it.
  auto protocol = req.version() == 20 ? "h2" : req.version() == 10 ? "http/1.0" : "http/1.1";
  if (!json_) {
    const auto& f = tls();
    auto str_or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
    json_ = nlohmann::json{
        {"tls_version", f.version},
        {"cipher_suite", f.cipher_iana},
        {"cipher_suite_openssl", f.cipher_openssl},
        {"cipher_bits", f.cipher_bits},
        {"group", str_or_null(f.group)},
        {"signature_scheme", str_or_null(f.signature_scheme)},
        {"sni", str_or_null(f.sni)},
        {"alpn", str_or_null(f.alpn)},
        {"resumed", f.resumed},
        {"client_certificate", str_or_null(f.client_certificate)},
        {"client_certificate_verified", f.client_certificate_verified},
        {"client_address", std::string(client)},
    };
  }
  (*json_)["http_version"] = std::move(version);
  (*json_)["protocol"] = protocol;
  (*json_)["user_agent"] = std::move(ua);
  return *json_;
}

}  // namespace tlslab::serve
