// The preamble of the coroutine code in net/: Asio's names as net/ spells them, the completion
// token that hands errors back as values, and the awaitable operators (`a || b` ends with the
// first to finish and cancels the other; `a && b` waits for both).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace tlslab::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

// use_tuple makes `co_await op(..., use_tuple)` return (error_code, results...) instead of
// throwing: failures of the network are expected, and each is answered where it happens.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace tlslab::net
