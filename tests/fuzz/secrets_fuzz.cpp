// libFuzzer harness for the proxy's secrets: a flow whose request carries bytes a hostile client
// chose (form, JSON and query parsing, every escape the masking search decodes), found and
// redacted; and the masking search on its own, which must leave no raw copy of a value behind.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/secrets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t split = data[0] % bytes.size();
  std::string value(bytes.substr(0, split)), text(bytes.substr(split));
  using namespace tlslab::proxy;
  for (const char* type : {"application/x-www-form-urlencoded", "application/json", "text/plain"}) {
    Flow f;
    f.target = "/p?" + value;
    f.request_headers = {{"Content-Type", type}, {"Cookie", value}, {"Authorization", "Basic " + value}};
    f.request_body = text;
    f.response_body = text;
    (void)redact_flow(f);
  }
  if (value.size() >= 4 && value.find('*') == std::string::npos) {
    auto masked = mask_text(text, {{"form field", "password", value}});
    if (masked.find(value) != std::string::npos) std::abort();
  }
  return 0;
}
