// libFuzzer harness for the scanner's ServerHello reader: bytes a hostile server chose, fed whole
// and as a prefix cut where the first byte says (a prefix must never be read as more than it is),
// each also read on through the ServerKeyExchange.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scan/server_hello.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto whole = tlslab::scan::parse_server_answer(bytes);
  (void)whole.has_extension(0x002b);
  auto flight = tlslab::scan::parse_server_answer(bytes, true);
  (void)flight;
  if (size > 1) {
    auto prefix = tlslab::scan::parse_server_answer(bytes.substr(0, data[0] % size));
    auto prefix_flight = tlslab::scan::parse_server_answer(bytes.substr(0, data[0] % size), true);
    (void)prefix;
    (void)prefix_flight;
  }
  return 0;
}
