// http::StreamingParser — a Beast parser that hands every body byte, plain or chunked, to
// on_body_bytes and keeps none: the base of the client's response reader (connect) and of the
// proxy's flow observer. Subclasses take the start line, the fields and the end of the header.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string_view>

namespace tlslab::http {

template <bool isRequest>
class StreamingParser : public boost::beast::http::basic_parser<isRequest> {
 protected:
  virtual void on_body_bytes(std::string_view bytes) = 0;

 private:
  void on_body_init_impl(const boost::optional<std::uint64_t>&, boost::beast::error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) override {
    on_body_bytes(std::string_view(body.data(), body.size()));
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body, boost::beast::error_code&) override {
    on_body_bytes(std::string_view(body.data(), body.size()));
    return body.size();
  }
  void on_finish_impl(boost::beast::error_code&) override {}
};

}  // namespace tlslab::http
