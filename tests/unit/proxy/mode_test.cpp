#include <gtest/gtest.h>

#include "proxy/core.hpp"

namespace tlslab::proxy {
namespace {

TEST(Mode, NamesAreTheCommandLineWords) {
  EXPECT_EQ(to_string(Mode::Sni), "sni");
  EXPECT_EQ(to_string(Mode::Explicit), "explicit");
  EXPECT_EQ(to_string(Mode::Reverse), "reverse");
}

TEST(Mode, ParseReadsEveryNameBackAndNothingElse) {
  for (auto mode : {Mode::Sni, Mode::Explicit, Mode::Reverse}) EXPECT_EQ(parse_mode(to_string(mode)), mode);
  EXPECT_EQ(parse_mode("SNI"), std::nullopt);  // as before: the words are lower case
  EXPECT_EQ(parse_mode(""), std::nullopt);
  EXPECT_EQ(parse_mode("transparent"), std::nullopt);
}

}  // namespace
}  // namespace tlslab::proxy
