#include "report/listener_render.hpp"

#include <fmt/format.h>

#include <csignal>

namespace tlslab::report {

std::string listener_line(const ListenerEvent& e) {
  switch (e.kind) {
    case ListenerEvent::Kind::AcceptFailed:
      return fmt::format("tlslab {}: accept failed: {}", e.command, e.error);
    case ListenerEvent::Kind::TooManyConnections:
      return fmt::format("tlslab {}: more than {} connections; refusing new ones", e.command, e.count);
    case ListenerEvent::Kind::Stopping:
      return fmt::format("tlslab {}: {}: no new connections; finishing {} open one{} (at most {} ms)", e.command,
                         e.signal == SIGINT ? "SIGINT" : "SIGTERM", e.count, e.count == 1 ? "" : "s", e.grace.count());
  }
  return {};
}

}  // namespace tlslab::report
