// report::listener_line — the line a ListenerEvent prints (on stderr, without its newline).
#pragma once

#include <string>

#include "base/listener_event.hpp"

namespace tlslab::report {

[[nodiscard]] std::string listener_line(const ListenerEvent& event);

}  // namespace tlslab::report
