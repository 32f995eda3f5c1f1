#include "pki/names.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include "support/failure.hpp"

namespace tlslab::pki {
namespace {

using tlslab::testing::failure_message;

using ::testing::HasSubstr;

struct Good {
  const char* input;
  NameKind kind;
  const char* value;
};

class ValidName : public ::testing::TestWithParam<Good> {};

TEST_P(ValidName, ClassifiesAndNormalizes) {
  auto [input, kind, value] = GetParam();
  auto result = classify_name(input);
  ASSERT_TRUE(std::holds_alternative<Name>(result)) << std::get<NameError>(result).message();
  const auto& name = std::get<Name>(result);
  EXPECT_EQ(name.kind, kind) << input;
  EXPECT_EQ(name.value, value) << input;
  EXPECT_EQ(name.input, input);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidName,
    ::testing::Values(Good{"www.bank32.com", NameKind::Dns, "www.bank32.com"},
                      Good{"WWW.Bank32.COM", NameKind::Dns, "www.bank32.com"},
                      Good{"example.com.", NameKind::Dns, "example.com"}, Good{"localhost", NameKind::Dns, "localhost"},
                      Good{"a-b.c0.test", NameKind::Dns, "a-b.c0.test"},
                      Good{"*.bank32.com", NameKind::Wildcard, "*.bank32.com"},
                      Good{"*.test", NameKind::Wildcard, "*.test"},
                      Good{"bücher.de", NameKind::Dns, "xn--bcher-kva.de"},
                      Good{"*.bücher.de", NameKind::Wildcard, "*.xn--bcher-kva.de"},
                      Good{"xn--bcher-kva.de", NameKind::Dns, "xn--bcher-kva.de"},
                      Good{"faß.de", NameKind::Dns, "xn--fa-hia.de"},  // UTS #46 non-transitional: ß kept
                      Good{"127.0.0.1", NameKind::Ipv4, "127.0.0.1"}, Good{"::1", NameKind::Ipv6, "::1"},
                      Good{"[::1]", NameKind::Ipv6, "::1"}, Good{"2001:DB8:0:0:0:0:0:1", NameKind::Ipv6, "2001:db8::1"},
                      Good{"me@bank32.com", NameKind::Email, "me@bank32.com"},
                      Good{"first.last+tag@bücher.de", NameKind::Email, "first.last+tag@xn--bcher-kva.de"}));

struct Bad {
  const char* input;
  const char* reason;  // a substring of the reason
};

class InvalidName : public ::testing::TestWithParam<Bad> {};

TEST_P(InvalidName, SaysWhy) {
  auto [input, reason] = GetParam();
  auto result = classify_name(input);
  ASSERT_TRUE(std::holds_alternative<NameError>(result)) << input << " was accepted";
  const auto& error = std::get<NameError>(result);
  EXPECT_THAT(error.reason, HasSubstr(reason)) << input;
  EXPECT_THAT(error.message(), HasSubstr(std::string("\"") + input + "\"")) << input;
}

INSTANTIATE_TEST_SUITE_P(
    Table, InvalidName,
    ::testing::Values(
        Bad{"", "empty"}, Bad{"www bank32.com", "space"}, Bad{"a\tb", "space"}, Bad{"a\x01.com", "control"},
        Bad{"a.*.com", "a wildcard is only allowed as the whole left-most label"}, Bad{"*.*.com", "only one wildcard"},
        Bad{"*", "lone *"}, Bad{"w*.example.com", "whole left-most label"}, Bad{"*.", "lone *"},
        Bad{"a..b", "empty label"}, Bad{".a.b", "starts with a dot"}, Bad{"-a.b", "starts with a hyphen"},
        Bad{"a-.b", "ends with a hyphen"}, Bad{"under_score.com", "'_'"}, Bad{"exa!mple.com", "'!' is not allowed"},
        Bad{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", "64 characters long"},
        Bad{"256.1.1.1", "not a valid IPv4"}, Bad{"1.2.3", "not a valid IPv4"}, Bad{"010.0.0.1", "not a valid IPv4"},
        Bad{"foo.123", "all digits"}, Bad{"1::2::3", "not a valid IPv6"}, Bad{"fe80::1%eth0", "zone"},
        Bad{"https://bank32.com", "URIs"}, Bad{"10.0.0.0/8", "'/'"}, Bad{"@bank32.com", "nothing before"},
        Bad{"me@", "no domain"}, Bad{"a..b@bank32.com", "dots"}, Bad{"me@*.bank32.com", "wildcard"},
        Bad{"me@bad_domain.com", "'_'"}, Bad{"xn--zz.com", "IDNA"}));

TEST(Names, RejectsOverlongName) {
  std::string label(63, 'a');
  std::string name = label + "." + label + "." + label + "." + label + ".com";  // 4*64 + 3 = 259
  auto result = classify_name(name);
  ASSERT_TRUE(std::holds_alternative<NameError>(result));
  EXPECT_THAT(std::get<NameError>(result).reason, HasSubstr("the limit is 253"));
}

TEST(Names, ParseNamesKeepsOrderAndDropsRepeats) {
  auto names = parse_names({"www.bank32.com", "127.0.0.1", "WWW.bank32.com", "*.bank32.com"});
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].value, "www.bank32.com");
  EXPECT_EQ(names[1].kind, NameKind::Ipv4);
  EXPECT_EQ(names[1].ip_bytes, std::string("\x7f\x00\x00\x01", 4));
  EXPECT_EQ(names[2].kind, NameKind::Wildcard);
}

TEST(Names, ParseNamesThrowsTheFirstError) {
  EXPECT_EQ(failure_message(
                [&] {
                  (void)parse_names({"ok.test", "a.*.com", "*"}, Kind::Input);
                },
                Kind::Input),
            "invalid name \"a.*.com\": a wildcard is only allowed as the whole left-most label");
}

TEST(Names, UnicodeFormForPeople) {
  auto name = std::get<Name>(classify_name("Bücher.de"));
  EXPECT_EQ(name.value, "xn--bcher-kva.de");
  EXPECT_EQ(name.unicode, "bücher.de");
  EXPECT_TRUE(name.idna());
  EXPECT_FALSE(std::get<Name>(classify_name("plain.de")).idna());
}

TEST(Names, WarnsAboutWildcardsUnderTopLevelDomains) {
  auto warnings = browser_warnings(parse_names({"*.test", "*.lab.test", "a.test"}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("*.test: browsers refuse"));
}

TEST(Names, NameConstraintsFollowRfc5280) {
  std::vector<std::string> test{"test"};
  auto n = [](const char* s) { return std::get<Name>(classify_name(s)); };
  EXPECT_TRUE(permitted_by(n("test"), test));
  EXPECT_TRUE(permitted_by(n("www.bank32.test"), test));
  EXPECT_TRUE(permitted_by(n("*.bank32.test"), test));
  EXPECT_TRUE(permitted_by(n("me@bank32.test"), test));
  EXPECT_FALSE(permitted_by(n("contest"), test));
  EXPECT_FALSE(permitted_by(n("www.bank32.com"), test));
  EXPECT_FALSE(permitted_by(n("127.0.0.1"), test));
  EXPECT_TRUE(permitted_by(n("127.0.0.1"), {}));
}

TEST(Names, NormalizesConstraints) {
  EXPECT_EQ(normalize_dns_constraint(".Test"), "test");
  EXPECT_EQ(normalize_dns_constraint("bücher.de"), "xn--bcher-kva.de");
  EXPECT_THROW((void)normalize_dns_constraint("a..b"), Failure);
}

}  // namespace
}  // namespace tlslab::pki
