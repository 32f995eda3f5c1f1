#include "scan/model.hpp"

namespace tlslab::scan {

const VersionSupport* ScanReport::version(std::uint16_t v) const {
  for (const auto& s : versions)
    if (s.version == v) return &s;
  return nullptr;
}

}  // namespace tlslab::scan
