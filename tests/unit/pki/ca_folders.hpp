// A root CA and an intermediate under it, saved in tmp/root and tmp/sub, for tests that need folders.
#pragma once

#include "pki/ca.hpp"
#include "support/temp_dir.hpp"

namespace tlslab::pki {

struct CaFolders {
  testing::TempDir tmp;
  Ca root = Ca::create({.name = "Root"});
  Ca sub = Ca::create({.name = "Sub", .parent = &root});
  CaFolders() {
    root.save(tmp.path() / "root");
    sub.save(tmp.path() / "sub");
  }
};

}  // namespace tlslab::pki
