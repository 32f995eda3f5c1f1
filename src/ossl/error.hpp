// Turning OpenSSL's thread-local error queue into one sentence.
#pragma once

#include <string>
#include <string_view>

#include "base/failure.hpp"

namespace tlslab::ossl {

// drain_errors empties the calling thread's OpenSSL error queue and returns its entries as
// "reason (library)" joined by "; ", most specific last; "" if the queue was empty.
[[nodiscard]] std::string drain_errors();

// fail throws Failure{kind, "CONTEXT: QUEUE"} — the context says what was being done on what
// ("loading CA file ca.pem"), the queue says why. With an empty queue, only the context is used.
[[noreturn]] void fail(Kind kind, std::string_view context);

// check returns ok, or drains the queue and throws like fail() when ok is false/zero/null.
template <class T>
T check(T ok, Kind kind, std::string_view context) {
  if (!ok) fail(kind, context);
  return ok;
}

}  // namespace tlslab::ossl
