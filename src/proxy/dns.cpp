#include "proxy/dns.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include "base/failure.hpp"

namespace tlslab::proxy {
namespace {

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

class Reader {
 public:
  explicit Reader(std::string_view m) : m_(m) {}
  [[nodiscard]] bool ok() const { return ok_; }
  std::uint16_t u16() {
    if (pos_ + 2 > m_.size()) return fail();
    auto v = static_cast<std::uint16_t>(static_cast<unsigned char>(m_[pos_]) << 8 |
                                        static_cast<unsigned char>(m_[pos_ + 1]));
    pos_ += 2;
    return v;
  }
  void skip(std::size_t n) {
    if (pos_ + n > m_.size())
      fail();
    else
      pos_ += n;
  }
  // skip_name steps over a (possibly compressed) name: labels end at a zero byte or a pointer.
  void skip_name() {
    for (int labels = 0; ok_ && labels < 128; ++labels) {
      if (pos_ >= m_.size()) {
        fail();
        return;
      }
      auto len = static_cast<unsigned char>(m_[pos_]);
      if (len == 0) {
        ++pos_;
        return;
      }
      if ((len & 0xc0) == 0xc0) {
        skip(2);
        return;
      }
      if (len & 0xc0) {
        fail();
        return;
      }
      skip(1 + len);
    }
    fail();
  }
  std::string_view bytes(std::size_t n) {
    if (pos_ + n > m_.size()) {
      fail();
      return {};
    }
    auto v = m_.substr(pos_, n);
    pos_ += n;
    return v;
  }

 private:
  std::uint16_t fail() {
    ok_ = false;
    pos_ = m_.size();
    return 0;
  }
  std::string_view m_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

std::string rcode_words(unsigned rcode) {
  switch (rcode) {
    case 1:
      return "the server could not read the query (FORMERR)";
    case 2:
      return "the server failed (SERVFAIL)";
    case 3:
      return "no such name (NXDOMAIN)";
    case 4:
      return "the server does not do that (NOTIMP)";
    case 5:
      return "the server refused (REFUSED)";
    default:
      return fmt::format("DNS error code {}", rcode);
  }
}

}  // namespace

std::string dns_query(std::string_view name, std::uint16_t type, std::uint16_t id) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out;
  put16(out, id);
  put16(out, 0x0100);  // a standard query, recursion desired
  put16(out, 1);       // one question
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  while (true) {
    auto dot = name.find('.');
    auto label = name.substr(0, dot);
    if (label.empty() || label.size() > 63)
      throw Failure(Kind::Usage, fmt::format("'{}' cannot be asked of a DNS server (empty or long label)", name));
    out += static_cast<char>(label.size());
    out += label;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  out += '\0';
  put16(out, type);
  put16(out, 1);  // class IN
  return out;
}

DnsAnswer read_dns_answer(std::string_view message, std::uint16_t id, std::uint16_t type) {
  DnsAnswer answer;
  Reader r(message);
  auto got_id = r.u16();
  auto flags = r.u16();
  auto questions = r.u16();
  auto answers = r.u16();
  r.u16();                                                          // authority
  r.u16();                                                          // additional
  if (!r.ok() || got_id != id || !(flags & 0x8000)) return answer;  // not an answer to our query
  answer.matched = true;
  if (auto rcode = flags & 0x000f; rcode != 0) {
    answer.error = rcode_words(rcode);
    return answer;
  }
  if (flags & 0x0200) {
    answer.error = "the answer was truncated (the server wants TCP)";
    return answer;
  }
  for (unsigned i = 0; i < questions && r.ok(); ++i) {
    r.skip_name();
    r.skip(4);
  }
  for (unsigned i = 0; i < answers && r.ok(); ++i) {
    r.skip_name();
    auto rtype = r.u16();
    r.u16();    // class
    r.skip(4);  // TTL
    auto length = r.u16();
    auto data = r.bytes(length);
    if (!r.ok()) break;
    char text[INET6_ADDRSTRLEN];
    if (rtype == type && type == kDnsTypeA && length == 4 && inet_ntop(AF_INET, data.data(), text, sizeof text))
      answer.addresses.emplace_back(text);
    if (rtype == type && type == kDnsTypeAaaa && length == 16 && inet_ntop(AF_INET6, data.data(), text, sizeof text))
      answer.addresses.emplace_back(text);
  }
  if (!r.ok()) {
    answer.addresses.clear();
    answer.error = "a malformed DNS answer";
  } else if (answer.addresses.empty()) {
    answer.error = "no address records";
  }
  return answer;
}

}  // namespace tlslab::proxy
