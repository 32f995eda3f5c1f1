// testing::failure_message — the message of the Failure a call throws, for EXPECT_THAT.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "base/failure.hpp"

namespace tlslab::testing {

// failure_message runs f and returns what() of the Failure it throws, checking its kind; it records
// a test failure (and returns "") when f throws nothing.
template <class F>
std::string failure_message(F&& f, Kind kind) {
  try {
    f();
  } catch (const Failure& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Failure was thrown";
  return {};
}

}  // namespace tlslab::testing
