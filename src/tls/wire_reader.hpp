// tls::WireReader — bounds-checked reading of TLS wire structures (RFC 8446 §3).
//
// Every read either succeeds completely or fails and consumes nothing, so a parser of hostile
// bytes can stop at the first short read and still report what it decoded before. Lengths read
// from the data are checked against what remains, never trusted. The reader only views the
// bytes; whoever made it keeps them alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tlslab::tls {

class WireReader {
 public:
  WireReader() = default;
  explicit WireReader(std::string_view data) noexcept : data_(data) {}

  // remaining returns how many unread bytes are left; empty whether none are.
  [[nodiscard]] std::size_t remaining() const noexcept { return data_.size(); }
  [[nodiscard]] bool empty() const noexcept { return data_.empty(); }
  // rest returns the unread bytes without consuming them.
  [[nodiscard]] std::string_view rest() const noexcept { return data_; }

  // number reads a big-endian unsigned integer of width bytes (1 to 4) into out; returns false,
  // consuming nothing, when fewer bytes remain.
  [[nodiscard]] bool number(std::size_t width, std::uint32_t& out) noexcept {
    if (width == 0 || width > 4 || data_.size() < width) return false;
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < width; ++i) value = value << 8 | static_cast<unsigned char>(data_[i]);
    data_.remove_prefix(width);
    out = value;
    return true;
  }
  [[nodiscard]] bool u8(std::uint8_t& out) noexcept { return narrow(1, out); }
  [[nodiscard]] bool u16(std::uint16_t& out) noexcept { return narrow(2, out); }
  [[nodiscard]] bool u24(std::uint32_t& out) noexcept { return number(3, out); }
  [[nodiscard]] bool u32(std::uint32_t& out) noexcept { return number(4, out); }

  // bytes reads the next n bytes into out; returns false, consuming nothing, when fewer remain.
  [[nodiscard]] bool bytes(std::size_t n, std::string_view& out) noexcept {
    if (data_.size() < n) return false;
    out = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }

  // vector reads a vector with a length prefix of width bytes (opaque x<0..2^(8*width)-1>) into
  // out; returns false, consuming nothing, when the prefix or the bytes it announces are missing.
  [[nodiscard]] bool vector(std::size_t width, WireReader& out) noexcept {
    WireReader probe = *this;
    std::uint32_t length = 0;
    std::string_view body;
    if (!probe.number(width, length) || !probe.bytes(length, body)) return false;
    *this = probe;
    out = WireReader(body);
    return true;
  }

 private:
  template <class T>
  bool narrow(std::size_t width, T& out) noexcept {
    std::uint32_t value = 0;
    if (!number(width, value)) return false;
    out = static_cast<T>(value);
    return true;
  }

  std::string_view data_;
};

}  // namespace tlslab::tls
