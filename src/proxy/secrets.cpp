#include "proxy/secrets.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/url.hpp>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/text.hpp"

namespace tlslab::proxy {
namespace urls = boost::urls;
using Json = nlohmann::ordered_json;  // re-serialised with its members in their order

namespace {

constexpr std::size_t kMinSearched = 4;        // shorter values are masked where found by name only
constexpr std::size_t kMinSearchedCookie = 8;  // cookies: "dark", "en-US" are not worth masking everywhere

const urls::encoding_opts kForm{true};  // '+' is a space, as in form bodies and most query strings

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

// ------------------------------------------------------------------------------------------
// Spellings: one decoded character at text[i] other than itself, for the search of mask_text.

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::optional<std::uint32_t> hex4(std::string_view s, std::size_t at) {
  if (at + 4 > s.size()) return std::nullopt;
  std::uint32_t v = 0;
  for (std::size_t k = at; k < at + 4; ++k) {
    if (!is_hex(s[k])) return std::nullopt;
    v = v << 4 | static_cast<std::uint32_t>(hex_value(s[k]));
  }
  return v;
}

// json_escape decodes a JSON escape at text[i] ('\\'): the bytes it stands for and its length.
bool json_escape(std::string_view text, std::size_t i, std::string& bytes, std::size_t& length) {
  if (i + 1 >= text.size()) return false;
  static constexpr std::string_view from = "\"\\/bfnrt", to = "\"\\/\b\f\n\r\t";
  if (auto k = from.find(text[i + 1]); k != std::string_view::npos) {
    bytes.assign(1, to[k]);
    length = 2;
    return true;
  }
  if (text[i + 1] != 'u') return false;
  auto cp = hex4(text, i + 2);
  if (!cp) return false;
  length = 6;
  if (*cp >= 0xD800 && *cp < 0xDC00 && text.substr(i + 6, 2) == "\\u") {  // a surrogate pair (RFC 8259 section 7)
    if (auto low = hex4(text, i + 8); low && *low >= 0xDC00 && *low < 0xE000) {
      cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
      length = 12;
    }
  }
  bytes.clear();
  append_utf8(bytes, *cp);
  return true;
}

// html_entity decodes a character reference at text[i] ('&'): &quot; &amp; &lt; &gt; &apos; &#NN; &#xHH;.
bool html_entity(std::string_view text, std::size_t i, std::string& bytes, std::size_t& length) {
  auto semi = text.find(';', i);
  if (semi == std::string_view::npos || semi - i > 10) return false;
  auto name = text.substr(i + 1, semi - i - 1);
  length = semi - i + 1;
  static constexpr std::array<std::pair<std::string_view, char>, 5> named{
      {{"quot", '"'}, {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"apos", '\''}}};
  for (auto [n, c] : named)
    if (name == n) return bytes.assign(1, c), true;
  if (name.size() < 2 || name[0] != '#') return false;
  bool hex = name[1] == 'x' || name[1] == 'X';
  auto digits = name.substr(hex ? 2 : 1);
  if (digits.empty()) return false;
  std::uint32_t cp = 0;
  for (char c : digits) {
    if (hex ? !is_hex(c) : !std::isdigit(static_cast<unsigned char>(c))) return false;
    cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(hex ? hex_value(c) : c - '0');
    if (cp > 0x10FFFF) return false;
  }
  bytes.clear();
  append_utf8(bytes, cp);
  return true;
}

// Speller finds where a needle is spelled at a position of text, each of its characters as itself
// or escaped in one of the ways above (a mix is fine: "p%40ss\u0025").
// It reads one %XX at a time by hand: Boost.URL decodes a whole string and cannot say where in the
// text each decoded byte came from, which masking needs; whole fields are decoded by Boost.URL.
class Speller {
 public:
  Speller(std::string_view text, std::string_view needle) : text_(text), needle_(needle) {}

  // end returns where a spelling of the needle starting at i ends, npos if there is none.
  std::size_t end(std::size_t i) {
    budget_ = 64 * needle_.size() + 64;  // alternatives are rare; this bounds a hostile needle
    if (auto e = from(i, 0); e != std::string_view::npos) return e;
    // Out of budget (or no spelling): the needle as it is still counts.
    return text_.compare(i, needle_.size(), needle_) == 0 ? i + needle_.size() : std::string_view::npos;
  }

 private:
  std::size_t from(std::size_t i, std::size_t j) {
    if (j == needle_.size()) return i;
    if (i >= text_.size() || budget_ == 0) return std::string_view::npos;
    --budget_;
    char c = text_[i];
    std::string bytes;
    std::size_t length = 0;
    bool decoded = false;
    if (c == '%' && i + 2 < text_.size() && is_hex(text_[i + 1]) && is_hex(text_[i + 2])) {
      bytes.assign(1, static_cast<char>(hex_value(text_[i + 1]) << 4 | hex_value(text_[i + 2])));
      length = 3;
      decoded = true;
    } else if (c == '+') {
      bytes = " ";
      length = 1;
      decoded = true;
    } else if (c == '\\') {
      decoded = json_escape(text_, i, bytes, length);
    } else if (c == '&') {
      decoded = html_entity(text_, i, bytes, length);
    }
    // An escape first, so that a match never ends inside one ("%25" is a '%', not a '%' and "25").
    if (decoded && !bytes.empty() && needle_.substr(j).starts_with(bytes))
      if (auto e = from(i + length, j + bytes.size()); e != std::string_view::npos) return e;
    if (c == needle_[j]) return from(i + 1, j + 1);
    return std::string_view::npos;
  }

  std::string_view text_, needle_;
  std::size_t budget_ = 0;
};

bool may_start(char c, char first) { return c == first || c == '%' || c == '+' || c == '\\' || c == '&'; }

std::string mask_one(std::string_view text, std::string_view needle) {
  std::string out;
  Speller speller(text, needle);
  std::size_t copied = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!may_start(text[i], needle.front())) continue;
    auto e = speller.end(i);
    if (e == std::string_view::npos) continue;
    out.append(text.substr(copied, i - copied));
    out += kMask;
    copied = e;
    i = e - 1;
  }
  if (copied == 0) return std::string(text);
  out.append(text.substr(copied));
  return out;
}

// needles are the searched values, longest first (so "alice:secret" goes before "secret").
std::vector<std::string_view> needles(const std::vector<Secret>& secrets) {
  std::vector<std::string_view> out;
  for (const auto& s : secrets) {
    auto min = s.where.find("cookie") != std::string::npos ? kMinSearchedCookie : kMinSearched;
    if (s.value.size() >= min && s.value != kMask) out.push_back(s.value);
  }
  std::sort(out.begin(), out.end(), [](auto a, auto b) { return a.size() > b.size(); });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string mask_with(std::string text, const std::vector<std::string_view>& list) {
  for (auto needle : list)
    if (text.size() >= needle.size() / 6) text = mask_one(text, needle);  // an escaped byte takes at most 6
  return text;
}

// ------------------------------------------------------------------------------------------
// Names, and the parsed structures.

std::string squeeze(std::string_view name) {
  std::string out;
  for (char c : ascii_lower(name))
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  return out;
}

// lenient percent-encodes what may not stand in a query as it is (a raw space, quote,
// non-ASCII byte, a '%' not followed by two hex digits), as servers read such forms anyway.
// Hand-written: Boost.URL's encode() escapes every '%', so it would spell valid escapes again.
std::string lenient(std::string_view text, std::string_view allowed = "-._~!$&'()*+,;=:@/?") {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    bool escape = text[i] == '%' && i + 2 < text.size() && is_hex(text[i + 1]) && is_hex(text[i + 2]);
    if (escape || std::isalnum(c) || (c < 0x80 && allowed.find(text[i]) != std::string_view::npos))
      out += text[i];
    else
      out += {'%', digits[c >> 4], digits[c & 15]};
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  std::string out(in.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return {};
  out.resize(static_cast<size_t>(n));
  while (!in.empty() && in.back() == '=') {  // EVP_DecodeBlock counts padding as zero bytes
    in.remove_suffix(1);
    if (!out.empty()) out.pop_back();
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Query strings and form bodies --------------------------------------------------------------

// each_param calls f(key, value, param) for each field of a query or form body, decoded; false
// when it does not parse even once made lenient. fixed keeps the text the params point into.
template <class F>
bool each_param(std::string_view text, std::string& fixed, F&& f) {
  fixed = lenient(text);
  auto params = urls::parse_query(fixed);
  if (!params) return false;
  for (auto p : *params) f(p.key.decode(kForm), p.has_value ? p.value.decode(kForm) : std::string(), p);
  return true;
}

void form_find(std::string_view text, const char* where, std::vector<Secret>& out) {
  std::string fixed;
  (void)each_param(text, fixed, [&](const std::string& key, const std::string& value, const auto&) {
    if (is_secret_name(key)) out.push_back({where, key, value});
  });
}

// form_mask re-encodes a query or form body with the secret fields' values masked; nullopt when
// it has none (or does not parse).
std::optional<std::string> form_mask(std::string_view text) {
  std::string fixed, out;
  bool masked = false, first = true;
  bool parsed = each_param(text, fixed, [&](const std::string& key, const std::string&, const auto& p) {
    if (!first) out += '&';
    first = false;
    out += p.key;
    if (!p.has_value) return;
    out += '=';
    if (is_secret_name(key)) {
      out += kMask;
      masked = true;
    } else {
      out += p.value;
    }
  });
  if (!parsed || !masked) return std::nullopt;
  return out;
}

// parse_target reads a request target (origin or absolute form) as a URL.
std::optional<urls::url> parse_target(std::string_view target) {
  if (auto r = urls::parse_uri_reference(target)) return urls::url(*r);
  auto fixed = lenient(target, "-._~!$&'()*+,;=:@/?#[]");
  if (auto r = urls::parse_uri_reference(fixed)) return urls::url(*r);
  return std::nullopt;
}

void target_find(const std::string& target, std::vector<Secret>& out) {
  auto u = parse_target(target);
  if (!u) return;
  if (u->has_password()) out.push_back({"URL", "password", u->password()});
  if (u->has_query()) form_find(u->encoded_query(), "query", out);
}

std::string target_mask(const std::string& target) {
  auto u = parse_target(target);
  if (!u) return target;
  bool changed = false;
  if (u->has_password()) {
    u->set_password(kMask);
    changed = true;
  }
  if (u->has_query())
    if (auto q = form_mask(u->encoded_query())) {
      u->set_encoded_query(*q);
      changed = true;
    }
  return changed ? std::string(u->buffer()) : target;
}

// JSON -----------------------------------------------------------------------------------------

bool looks_json(const Headers& headers, std::string_view body) {
  for (const auto& [n, v] : headers)
    if (ascii_lower(n) == "content-type" && ascii_lower(v).find("json") != std::string::npos) return true;
  auto first = body.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && (body[first] == '{' || body[first] == '[');
}

std::optional<Json> parse_json(const Headers& headers, std::string_view body) {
  if (body.empty() || !looks_json(headers, body)) return std::nullopt;
  auto j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

void json_leaves(const Json& v, const std::string& where, const std::string& name, std::vector<Secret>& out) {
  if (v.is_string())
    out.push_back({where, name, v.get<std::string>()});
  else if (v.is_structured())
    for (const auto& child : v) json_leaves(child, where, name, out);
  else if (!v.is_null())
    out.push_back({where, name, v.dump()});
}

void json_find(const Json& j, const std::string& where, std::vector<Secret>& out) {
  if (j.is_object()) {
    for (const auto& item : j.items()) {
      if (is_secret_name(item.key()))
        json_leaves(item.value(), where, item.key(), out);
      else
        json_find(item.value(), where, out);
    }
  } else if (j.is_array()) {
    for (const auto& child : j) json_find(child, where, out);
  }
}

void json_mask_all(Json& v) {
  if (v.is_structured())
    for (auto& child : v) json_mask_all(child);
  else if (!v.is_null())
    v = kMask;
}

void json_mask(Json& j, const std::vector<std::string_view>& list) {
  if (j.is_object()) {
    for (auto item : j.items()) {
      if (is_secret_name(item.key()))
        json_mask_all(item.value());
      else
        json_mask(item.value(), list);
    }
  } else if (j.is_array()) {
    for (auto& child : j) json_mask(child, list);
  } else if (j.is_string()) {
    j = mask_with(j.get<std::string>(), list);
  }
}

// Headers --------------------------------------------------------------------------------------

bool is_authorization(std::string_view lower) { return lower == "authorization" || lower == "proxy-authorization"; }

// Cookie pairs ("sid=abc; theme=dark"): no library at hand reads them, and they are this simple.
template <class F>
void each_cookie(std::string_view value, F&& f) {
  while (!value.empty()) {
    auto semi = value.find(';');
    auto pair = trim(value.substr(0, semi));
    auto eq = pair.find('=');
    if (!pair.empty())
      f(trim(pair.substr(0, eq)), eq == std::string_view::npos ? std::string_view() : trim(pair.substr(eq + 1)));
    if (semi == std::string_view::npos) break;
    value.remove_prefix(semi + 1);
  }
}

void headers_find(const Headers& headers, bool response, bool trailers, std::vector<Secret>& out) {
  std::string where = std::string(response ? "response " : "") + (trailers ? "trailer" : "header");
  for (const auto& [name, value] : headers) {
    auto l = ascii_lower(name);
    if (is_authorization(l)) {
      auto sp = value.find(' ');
      auto scheme = sp == std::string::npos ? std::string_view() : std::string_view(value).substr(0, sp);
      auto credentials = sp == std::string::npos ? std::string_view(value) : trim(std::string_view(value).substr(sp));
      if (ascii_lower(scheme) == "basic")
        if (auto decoded = base64_decode(credentials); !decoded.empty())
          out.push_back({where, name + " (Basic, decoded)", decoded});
      out.push_back({where, name, std::string(credentials)});
    } else if (l == "cookie") {
      each_cookie(value, [&](std::string_view n, std::string_view v) {
        if (!v.empty()) out.push_back({"cookie", std::string(n), std::string(v)});
      });
    } else if (l == "set-cookie") {
      auto semi = value.find(';');
      each_cookie(std::string_view(value).substr(0, semi), [&](std::string_view n, std::string_view v) {
        if (!v.empty()) out.push_back({"response cookie", std::string(n), std::string(v)});
      });
    } else if (is_secret_name(name)) {
      out.push_back({where, name, value});
    }
  }
}

std::string header_mask(const std::string& name, const std::string& value, const std::vector<std::string_view>& list) {
  auto l = ascii_lower(name);
  if (is_authorization(l)) {
    auto sp = value.find(' ');
    return sp == std::string::npos ? std::string(kMask) : value.substr(0, sp + 1) + std::string(kMask);
  }
  if (l == "cookie" || l == "set-cookie") {
    auto semi = l == "set-cookie" ? value.find(';') : std::string::npos;
    std::string out;
    each_cookie(std::string_view(value).substr(0, semi), [&](std::string_view n, std::string_view v) {
      out += out.empty() ? "" : "; ";
      out += n;
      out += '=';
      out += v.empty() ? std::string_view() : kMask;
    });
    if (semi != std::string::npos) out += mask_with(value.substr(semi), list);
    return out;
  }
  if (is_secret_name(name)) return std::string(kMask);
  return mask_with(value, list);
}

void headers_mask(Headers& headers, const std::vector<std::string_view>& list) {
  for (auto& [name, value] : headers) value = header_mask(name, value, list);
}

// Bodies ---------------------------------------------------------------------------------------

bool is_form(const Headers& headers) {
  for (const auto& [n, v] : headers)
    if (ascii_lower(n) == "content-type" &&
        ascii_lower(v).find("application/x-www-form-urlencoded") != std::string::npos)
      return true;
  return false;
}

void body_find(const Headers& headers, const std::string& body, bool response, std::vector<Secret>& out) {
  if (is_form(headers)) return form_find(body, response ? "response form field" : "form field", out);
  if (auto j = parse_json(headers, body)) json_find(*j, response ? "response JSON field" : "JSON field", out);
}

std::string body_mask(const Headers& headers, std::string body, const std::vector<std::string_view>& list) {
  if (is_form(headers)) {
    if (auto masked = form_mask(body)) body = std::move(*masked);
  } else if (auto j = parse_json(headers, body)) {
    auto before = *j;
    json_mask(*j, list);
    if (*j != before)  // else the text stays as it came
      body = j->dump(body.find('\n') == std::string::npos ? -1 : 2, ' ', false, Json::error_handler_t::replace);
  }
  return mask_with(std::move(body), list);  // what did not parse, and names or keys that are secrets
}

}  // namespace

bool is_secret_name(std::string_view name) {
  auto n = squeeze(name);
  static constexpr std::string_view exact[] = {"pass", "pwd", "pin", "otp", "auth", "sid", "session"};
  static constexpr std::string_view within[] = {"password",  "passwd", "passphrase",   "secret",
                                                "token",     "apikey", "accesskey",    "privatekey",
                                                "sessionid", "sessid", "authorization"};
  for (auto w : exact)
    if (n == w) return true;
  for (auto w : within)
    if (n.find(w) != std::string::npos) return true;
  return false;
}

std::vector<Secret> find_secrets(const Flow& f) {
  std::vector<Secret> out;
  target_find(f.target, out);
  headers_find(f.request_headers, false, false, out);
  body_find(f.request_headers, f.request_body, false, out);
  headers_find(f.request_trailers, false, true, out);
  headers_find(f.response_headers, true, false, out);
  body_find(f.response_headers, f.response_body, true, out);
  headers_find(f.response_trailers, true, true, out);
  return out;
}

std::string mask_text(std::string text, const std::vector<Secret>& secrets) {
  return mask_with(std::move(text), needles(secrets));
}

Flow redact_flow(Flow f, const std::vector<Secret>& secrets) {
  auto list = needles(secrets);
  f.target = mask_with(target_mask(f.target), list);
  f.request_body = body_mask(f.request_headers, std::move(f.request_body), list);
  f.response_body = body_mask(f.response_headers, std::move(f.response_body), list);
  // Headers after the bodies: their Content-Type said how to read them.
  headers_mask(f.request_headers, list);
  headers_mask(f.response_headers, list);
  headers_mask(f.request_trailers, list);
  headers_mask(f.response_trailers, list);
  for (auto* s : {&f.host, &f.authority, &f.reason, &f.error}) *s = mask_with(std::move(*s), list);
  return f;
}

Flow redact_flow(Flow flow) {
  auto secrets = find_secrets(flow);
  return redact_flow(std::move(flow), secrets);
}

}  // namespace tlslab::proxy
