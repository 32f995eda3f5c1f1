// The one translation unit that compiles Boost.Asio (with its SSL layer) and Boost.Beast, so that
// every other file only parses their declarations (BOOST_ASIO_SEPARATE_COMPILATION,
// BOOST_BEAST_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
