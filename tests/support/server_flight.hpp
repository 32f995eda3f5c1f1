// testing::server_flight — what a real OpenSSL server writes back to the bytes of a ClientHello,
// in memory (no sockets): the playbook peer of a scanner that reads only the server's first answer.
//
//   auto flight = server_flight(ctx.get(), scan::build_client_hello(spec));
//   auto answer = scan::parse_server_answer(flight);
#pragma once

#include <string>
#include <string_view>

#include "ossl/ptr.hpp"

namespace tlslab::testing {

// server_flight feeds hello to a new server connection of ctx and returns everything it writes
// back before it needs more (a ServerHello flight, a HelloRetryRequest, an alert, or nothing).
[[nodiscard]] std::string server_flight(SSL_CTX* ctx, std::string_view hello);

}  // namespace tlslab::testing
