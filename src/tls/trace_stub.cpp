// Temporary until the decoder lands.
#include "tls/trace.hpp"
namespace tlslab::tls {
TraceMessage decode_message(Direction direction, int content_type, std::string_view bytes) {
  TraceMessage m;
  m.direction = direction;
  if (content_type == 22 && !bytes.empty()) {
    m.content = "handshake";
    m.type = "type " + std::to_string(static_cast<unsigned char>(bytes[0]));
  } else if (content_type == 21) {
    m.content = "alert";
    m.type = "alert";
  }
  m.length = bytes.size();
  return m;
}
}  // namespace tlslab::tls
