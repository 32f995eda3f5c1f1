#include "proxy/core.hpp"

#include <fmt/format.h>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <sstream>

#include "base/text.hpp"
#include "proxy/translate.hpp"

namespace tlslab::proxy {
namespace {

bool is_address(const std::string& host) {
  // An IPv4 literal or an IPv6 one (the only hosts with a ':' once brackets are gone).
  if (host.find(':') != std::string::npos) return true;
  return !host.empty() && host.find_first_not_of("0123456789.") == std::string::npos;
}

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// port_of reads a URL's port text: 1-65535, else 0 (Boost.URL's port_number() wraps above 65535).
std::uint16_t port_of(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos) return 0;
  auto n = std::stoul(std::string(text));
  return n <= 65535 ? static_cast<std::uint16_t>(n) : 0;
}

}  // namespace

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::Sni:
      return "sni";
    case Mode::Explicit:
      return "explicit";
    case Mode::Reverse:
      return "reverse";
  }
  return "sni";
}

std::optional<Mode> parse_mode(std::string_view text) {
  for (auto mode : {Mode::Sni, Mode::Explicit, Mode::Reverse})
    if (to_string(mode) == text) return mode;
  return std::nullopt;
}

std::optional<std::pair<std::string, std::uint16_t>> parse_authority(const std::string& text) {
  auto parsed = boost::urls::parse_authority(text);
  if (!parsed || !parsed->has_port() || parsed->has_userinfo() || port_of(parsed->port()) == 0) return std::nullopt;
  auto host = std::string(parsed->encoded_host_address());  // IPv6 without its brackets
  if (host.empty()) return std::nullopt;
  return std::make_pair(ascii_lower(host), port_of(parsed->port()));
}

std::optional<PlainTarget> parse_plain_target(const std::string& target, std::string& why) {
  auto url = boost::urls::parse_absolute_uri(target);
  if (!url) {
    why = "this is a proxy: send absolute http:// URLs or CONNECT";
    return std::nullopt;
  }
  if (url->scheme_id() != boost::urls::scheme::http) {
    why = url->scheme_id() == boost::urls::scheme::https
              ? "use CONNECT for https:// URLs (curl -x does)"
              : fmt::format("this proxy forwards http:// URLs only, not {}:", std::string(url->scheme()));
    return std::nullopt;
  }
  PlainTarget t;
  t.host = std::string(url->encoded_host_address());  // IPv6 without its brackets
  if (t.host.empty()) {
    why = "the URL names no host";
    return std::nullopt;
  }
  t.host = ascii_lower(t.host);
  if (url->has_port()) {
    t.port = port_of(url->port());
    if (t.port == 0) {
      why = fmt::format("the URL's port '{}' is not a port number", std::string(url->port()));
      return std::nullopt;
    }
  }
  t.origin_form = std::string(url->encoded_path());
  if (t.origin_form.empty()) t.origin_form = "/";
  if (url->has_query()) t.origin_form += "?" + std::string(url->encoded_query());
  return t;
}

std::string origin_request(const event::RequestRead& request, const PlainTarget& target) {
  namespace bhttp = boost::beast::http;
  bhttp::request_header<> head;
  head.method_string(request.method);
  head.target(target.origin_form);
  head.version(request.version);
  Headers fields = request.fields;
  strip_hop_by_hop(fields);
  for (const auto& [name, value] : fields) head.insert(name, value);
  head.set(bhttp::field::connection, "close");
  std::ostringstream out;
  out << head;
  return out.str();
}

Commands Core::on(const Event& event) {
  if (state_ == State::Closed) return {};
  return std::visit(
      Overloaded{
          [&](const event::Start&) { return on_start(); },
          [&](const event::RequestRead& e) { return on_request(e); },
          [&](const event::HelloRead& e) { return on_hello(e); },
          [&](const event::HelloFailed& e) {
            // A TLS server answers a first flight it cannot take as OpenSSL's does, not with a
            // silent close.
            return close(e.unreadable ? Commands{command::AnswerUnreadable{}} : Commands{command::Log{true, e.why}});
          },
          [&](const event::Resolved& e) { return on_resolved(e); },
          [&](const event::Connected& e) { return on_connected(e); },
          [&](const event::ConnectFailed& e) { return refuse(e.why); },
          [&](const event::UpstreamTlsDone& e) { return on_upstream_tls(e); },
          [&](const event::UpstreamTlsFailed& e) {
            return refuse(
                fmt::format("the TLS handshake with the real server {} ({}) failed: {}", host_, address_, e.why));
          },
          [&](const event::ClientTlsDone& e) { return on_client_tls(e); },
          [&](const event::ClientTlsFailed& e) {
            return close(e.why.empty() ? Commands{} : Commands{command::Log{true, e.why}});
          },
          [&](const event::RelayEnded&) { return close(); },
          [&](const event::ClientGone& e) {
            return close(e.why.empty() ? Commands{} : Commands{command::Log{true, e.why}});
          },
      },
      event);
}

Commands Core::close(Commands out) {
  state_ = State::Closed;
  out.emplace_back(command::Close{});
  return out;
}

Commands Core::on_start() {
  if (state_ != State::Start) return {};
  switch (config_.mode) {
    case Mode::Explicit:
      state_ = State::Request;
      return {command::ReadRequest{}};
    case Mode::Reverse:
      host_ = config_.upstream_host;
      port_ = config_.upstream_port;
      break;
    case Mode::Sni:
      port_ = config_.upstream_port;
      break;
  }
  state_ = State::Hello;
  return {command::ReadHello{}};
}

Commands Core::on_request(const event::RequestRead& e) {
  if (state_ != State::Request) return {};
  if (!e.error.empty())
    return close({command::Log{true, fmt::format("answered 400: not an HTTP request ({})", e.error)},
                  command::SendPage{400, fmt::format("not an HTTP request ({})", e.error)}});
  if (e.method == "CONNECT") {
    auto authority = parse_authority(e.target);
    if (!authority) {
      auto why = fmt::format("CONNECT {}: give HOST:PORT", e.target);
      return close({command::Log{true, "answered 400: " + why}, command::SendPage{400, why}});
    }
    std::tie(host_, port_) = *authority;
    requested_ = host_;
    if (should_pass(config_.pass, host_)) {
      purpose_ = Purpose::PassTunnel;
      state_ = State::Resolving;
      return {command::Resolve{host_, port_}};
    }
    // The client gets its tunnel at once and starts its handshake: the real server is reached
    // once its hello says what it wants (its ALPN offer goes upstream).
    tunnel_ = true;
    state_ = State::Hello;
    return {command::SendEstablished{}, command::ReadHello{}};
  }
  std::string why;
  auto target = parse_plain_target(e.target, why);
  if (!target) return close({command::Log{true, "answered 400: " + why}, command::SendPage{400, why}});
  purpose_ = Purpose::PlainForward;
  host_ = requested_ = target->host;
  port_ = target->port;
  forward_head_ = origin_request(e, *target);
  state_ = State::Resolving;
  return {command::Resolve{host_, port_}};
}

Commands Core::on_hello(const event::HelloRead& e) {
  if (state_ != State::Hello) return {};
  hello_ = e.info;
  if (config_.mode == Mode::Sni && !tunnel_) host_ = ascii_lower(hello_.sni);
  if (host_.empty()) {
    state_ = State::Closed;
    return {command::Log{true, "the ClientHello names no server (no SNI): cannot tell where to go; closed"},
            command::SendAlert{}, command::Close{}};
  }
  requested_ = hello_.sni.empty() ? host_ : ascii_lower(hello_.sni);
  if (should_pass(config_.pass, requested_)) purpose_ = Purpose::PassTls;
  state_ = State::Resolving;
  return {command::Resolve{host_, port_}};
}

Commands Core::on_resolved(const event::Resolved& e) {
  if (state_ != State::Resolving) return {};
  std::vector<Endpoint> safe;
  std::string why = e.why;
  for (const auto& address : e.addresses) {
    if (is_loop(address, config_.listeners)) {
      why = fmt::format(
          "{} resolves to {}, which is this proxy itself: refusing the loop (the redirect that sends clients "
          "here must not apply to the proxy; use --upstream-resolve {}:ADDR)",
          host_,
          address.address.find(':') != std::string::npos ? fmt::format("[{}]:{}", address.address, address.port)
                                                         : fmt::format("{}:{}", address.address, address.port),
          host_);
      continue;
    }
    safe.push_back(address);
  }
  if (safe.empty()) return refuse(why.empty() ? fmt::format("cannot resolve {}", host_) : why);
  state_ = State::Connecting;
  return {command::Connect{std::move(safe), host_, port_}};
}

Commands Core::on_connected(const event::Connected& e) {
  if (state_ != State::Connecting) return {};
  address_ = e.address;
  switch (purpose_) {
    case Purpose::PassTunnel:
      state_ = State::Relaying;
      return {command::SendEstablished{}, command::Relay{command::RelayKind::Raw}};
    case Purpose::PassTls:
      state_ = State::Relaying;
      return {command::Relay{command::RelayKind::Raw}};  // the executor replays the buffered hello
    case Purpose::PlainForward: {
      state_ = State::Relaying;
      command::Relay relay{command::RelayKind::Observed};
      relay.first_up = forward_head_;
      return {relay};
    }
    case Purpose::Intercept:
      break;
  }
  state_ = State::UpstreamTls;
  return {command::StartUpstreamTls{is_address(requested_) ? std::string() : requested_,
                                    upstream_offer(hello_.alpn, config_.http2)}};
}

Commands Core::on_upstream_tls(const event::UpstreamTlsDone& e) {
  if (state_ != State::UpstreamTls) return {};
  if (!e.verify_problem.empty() && !config_.upstream_insecure) {
    Commands out{
        command::Log{true, fmt::format("the real server {} ({}) failed verification: {} — refusing to intercept "
                                       "(--upstream-cacert FILE to trust its CA, --upstream-insecure to go on anyway)",
                                       host_, address_, e.verify_problem)}};
    auto more = refuse(fmt::format("the real server's certificate did not verify: {}", e.verify_problem), false);
    out.insert(out.end(), more.begin(), more.end());
    return out;
  }
  upstream_alpn_ = e.alpn;
  state_ = State::ClientTls;
  return {command::StartClientTls{requested_, client_choice(hello_.alpn, e.alpn, config_.http2), true}};
}

Commands Core::on_client_tls(const event::ClientTlsDone& e) {
  if (state_ == State::RefusingInTunnel) {
    state_ = State::Closed;
    return {command::Answer502{refusal_}, command::Close{}};
  }
  if (state_ != State::ClientTls) return {};
  state_ = State::Relaying;
  command::Relay relay;
  relay.tls = true;
  bool http = http_protocol(e.alpn, relay.client_leg) && http_protocol(upstream_alpn_, relay.upstream_leg);
  if (!http)
    relay.kind = command::RelayKind::Opaque;
  else if (relay.client_leg == HttpProtocol::Http1 && relay.upstream_leg == HttpProtocol::Http1)
    relay.kind = command::RelayKind::Observed;  // HTTP/1 on both legs: bytes, watched
  else
    relay.kind = command::RelayKind::Http;
  return {relay};
}

Commands Core::refuse(const std::string& why, bool log_it) {
  Commands out;
  if (log_it) out.emplace_back(command::Log{true, why});
  if (tunnel_ && !requested_.empty() && state_ != State::ClientTls) {
    // Inside a tunnel: finish the client's handshake with a forgery for the requested name, so
    // that the browser shows our page instead of a bare error code.
    refusal_ = why;
    state_ = State::RefusingInTunnel;
    out.emplace_back(command::StartClientTls{requested_, "http/1.1", false});
    return out;
  }
  if (config_.mode == Mode::Explicit && !tunnel_ &&
      (purpose_ == Purpose::PassTunnel || purpose_ == Purpose::PlainForward)) {
    out.emplace_back(command::SendPage{502, why});
    return close(std::move(out));
  }
  out.emplace_back(command::SendAlert{});
  return close(std::move(out));
}

}  // namespace tlslab::proxy
