// libFuzzer harness for the proxy's ClientHello reader: bytes a hostile client chose, fed whole
// and in two pieces split where the first byte says.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/client_hello.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  {
    tlslab::proxy::ClientHelloReader reader;
    (void)reader.feed(bytes);
  }
  if (size > 1) {
    std::size_t split = data[0] % size;
    tlslab::proxy::ClientHelloReader reader;
    if (reader.feed(bytes.substr(0, split)) == tlslab::proxy::ClientHelloReader::State::NeedMore)
      (void)reader.feed(bytes.substr(split));
  }
  return 0;
}
