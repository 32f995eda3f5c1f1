#include "ossl/error.hpp"

#include <fmt/format.h>
#include <openssl/err.h>

namespace tlslab::ossl {

std::string drain_errors() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    const char* reason = ERR_reason_error_string(code);
    std::string entry = reason ? reason : fmt::format("error {:#x}", code);
    if (data && (flags & ERR_TXT_STRING) && *data) entry += fmt::format(" ({})", data);
    if (!out.empty()) out += "; ";
    out += entry;
  }
  return out;
}

void fail(Kind kind, std::string_view context) {
  auto why = drain_errors();
  if (why.empty()) throw Failure(kind, std::string(context));
  throw Failure(kind, fmt::format("{}: {}", context, why));
}

}  // namespace tlslab::ossl
