#include "report/serve_render.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <iterator>
#include <nlohmann/json.hpp>

namespace tlslab::report {

const std::string& clf_time(std::time_t t) {
  // Every line of a second shows the same time: made once a second per thread.
  struct Cache {
    std::time_t second = -1;
    std::string text;
  };
  thread_local Cache cache;
  if (t != cache.second) {
    cache.second = t;
    std::tm tm{};
    gmtime_r(&t, &tm);
    cache.text = fmt::format("{:%d/%b/%Y:%H:%M:%S} +0000", tm);
  }
  return cache.text;
}

void append_access_line(std::string& out, const serve::AccessEvent& e, bool json) {
  const auto& tls = *e.tls;
  auto referer = e.referer.value_or("-");
  auto user_agent = e.user_agent.value_or("-");
  if (json) {
    out +=
        nlohmann::json{{"time", clf_time(e.time)},
                       {"client", std::string(e.client)},
                       {"method", std::string(e.method)},
                       {"target", std::string(e.target)},
                       {"status", e.status},
                       {"bytes", e.bytes},
                       {"referer", std::string(referer)},
                       {"user_agent", std::string(user_agent)},
                       {"protocol", fmt::format("HTTP/{}.{}", e.version / 10, e.version % 10)},
                       {"sni", tls.sni},
                       {"tls_version", tls.version},
                       {"cipher", tls.cipher_iana},
                       {"resumed", tls.resumed},
                       {"client_certificate", tls.client_certificate.empty() ? nlohmann::json(nullptr)
                                                                             : nlohmann::json(tls.client_certificate)}}
            .dump();
    out += '\n';
    return;
  }
  // Combined log format, then the TLS version, the cipher suite and the client certificate's subject.
  // (Formatted into fmt's own buffer, on the stack for a line of usual length: fmt writes to it
  // faster than through a back_inserter into out.)
  fmt::memory_buffer line;
  auto to = fmt::appender(line);
  fmt::format_to(to, "{} - - [{}] \"{} {} HTTP/{}.{}\" {} {} \"{}\" \"{}\" {} {}", e.client, clf_time(e.time), e.method,
                 e.target, e.version / 10, e.version % 10, e.status, e.bytes, referer, user_agent, tls.version,
                 tls.cipher_iana);
  if (!tls.client_certificate.empty()) fmt::format_to(to, " \"{}\"", tls.client_certificate);
  line.push_back('\n');
  out.append(line.data(), line.size());
}

void append_error_line(std::string& out, const serve::ClientError& e, bool json) {
  if (json)
    out += nlohmann::json{{"time", clf_time(e.time)}, {"client", std::string(e.client)}, {"error", std::string(e.what)}}
               .dump();
  else
    fmt::format_to(std::back_inserter(out), "tlslab serve: {}: {}", e.client, e.what);
  out += '\n';
}

void append_notice_line(std::string& out, const serve::Notice& e) {
  using Kind = serve::Notice::Kind;
  auto to = std::back_inserter(out);
  switch (e.kind) {
    case Kind::CannotTakeConnection:
      fmt::format_to(to, "tlslab serve: cannot take a connection: {}", e.detail);
      break;
    case Kind::ConnectionEndedByError:
      fmt::format_to(to, "tlslab serve: connection ended by an error: {}", e.detail);
      break;
    case Kind::Reloaded:
      out += "tlslab serve: SIGHUP: certificates reloaded; open connections keep theirs";
      break;
    case Kind::ReloadFailed:
      fmt::format_to(to, "tlslab serve: SIGHUP: reload failed, keeping the old certificates: {}", e.detail);
      break;
  }
  out += '\n';
}

}  // namespace tlslab::report
