// libFuzzer harness for the trace decoder: hostile bytes as any content type, one message at a
// time (decode_message in one of several negotiated contexts, or none) or as a sequence through
// one Tracer, so every format the negotiation decides is reached. Input layout: trace_input.hpp.
#include <cstddef>
#include <cstdint>

#include "trace_input.hpp"

namespace {

using tlslab::tls::TraceMessage;

// touch reads every byte of the result, so a field pointing at freed or foreign memory is caught.
std::size_t touch(const TraceMessage& message) {
  std::size_t sum = message.type.size() + message.content.size() + message.length;
  for (const auto& field : message.fields) sum += field.name.size() + field.value.size();
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  volatile std::size_t sink = 0;
  if (data[0] & tlslab::fuzz::kSequenceFlag) {
    tlslab::tls::Tracer tracer;
    tlslab::fuzz::for_each_frame(rest, [&](const tlslab::fuzz::TraceInput& in) {
      sink = sink + touch(tracer.decode(in.direction, in.content_type, in.bytes));
    });
    return 0;
  }
  auto in = tlslab::fuzz::input(data[0], rest);
  sink = sink + touch(tlslab::tls::decode_message(in.direction, in.content_type, in.bytes, in.context));
  (void)sink;
  return 0;
}
