#include "pki/trust.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ca_folders.hpp"
#include "support/failure.hpp"
#include "support/temp_dir.hpp"

namespace tlslab::pki {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using tlslab::testing::failure_message;
using tlslab::testing::TempDir;

TEST(Trust, PlansSystemAndNss) {
  TempDir tmp;
  auto ca = Ca::create({.name = "Lab Root"});
  ca.save(tmp.path() / "ca");
  auto plan = plan_trust(ca, {.nss = {tmp.path() / "nssdb"}, .local_ca_dir = "/usr/local/share/ca-certificates"});
  EXPECT_EQ(plan.ca_name, "Lab Root");
  EXPECT_EQ(plan.root_file, (tmp.path() / "ca" / "ca.pem").string());
  ASSERT_EQ(plan.steps.size(), 5u);
  EXPECT_EQ(plan.steps[0].argv[0], "install");
  EXPECT_THAT(plan.steps[0].argv[4],
              MatchesRegex("/usr/local/share/ca-certificates/tlslab-lab-root-[0-9a-f]{8}\\.crt"));
  EXPECT_TRUE(plan.steps[0].needs_root);
  EXPECT_THAT(plan.steps[1].argv, ElementsAre("update-ca-certificates"));
  EXPECT_EQ(plan.steps[2].argv[0], "mkdir");  // no database there yet
  EXPECT_EQ(plan.steps[3].argv[1], "-N");
  EXPECT_EQ(plan.steps[4].argv[1], "-A");
  EXPECT_EQ(plan.steps[4].argv[3], "sql:" + (tmp.path() / "nssdb").string());
  EXPECT_FALSE(plan.steps[4].needs_root);

  auto removal = plan_trust(ca, {.nss = {tmp.path() / "nssdb"}, .remove = true});
  ASSERT_EQ(removal.steps.size(), 2u);  // the database does not exist: nothing to delete there
  EXPECT_THAT(removal.steps[0].argv, ElementsAre("rm", "-f", HasSubstr("tlslab-lab-root-")));
  EXPECT_THAT(removal.steps[1].argv, ElementsAre("update-ca-certificates", "--fresh"));

  auto no_system = plan_trust(ca, {.system = false, .nss = {tmp.path() / "nssdb"}});
  EXPECT_EQ(no_system.steps.size(), 3u);
  EXPECT_THAT(no_system.notes, ElementsAre(HasSubstr("--no-system")));
}

TEST(Trust, IntermediateTrustsItsRoot) {
  CaFolders f;
  auto plan = plan_trust(Ca::load(f.tmp.path() / "sub"), {.system = false, .nss = {f.tmp.path() / "db"}});
  EXPECT_EQ(plan.ca_name, "Root");
  EXPECT_EQ(plan.root_file, (f.tmp.path() / "sub" / "root.pem").string());
  EXPECT_TRUE(fs::exists(plan.root_file));
}

TEST(Trust, ShellQuoting) {
  EXPECT_EQ(shell_quote({"certutil", "-n", "a b", "-t", "C,,", "it's"}), "certutil -n 'a b' -t C,, 'it'\\''s'");
  EXPECT_EQ(shell_quote({"x", ""}), "x ''");
}

TEST(Trust, RunPlanStopsAtTheFirstFailure) {
  TrustPlan plan;
  plan.steps.push_back({"test", "ok", {"true"}});
  plan.steps.push_back({"test", "fails", {"sh", "-c", "echo broken >&2; exit 3"}});
  EXPECT_THAT(failure_message([&] { (void)run_plan(plan); }, Kind::Generic),
              HasSubstr("sh -c 'echo broken >&2; exit 3' failed (exit 3): broken; 1 earlier step(s)"));
  plan.steps = {{"test", "missing", {"no-such-program-tlslab"}}};
  EXPECT_THROW((void)run_plan(plan), Failure);
}

TEST(Trust, ExportCopiesAndRehashes) {
  CaFolders f;
  auto report = export_capath(f.sub, f.tmp.path() / "capath");
  EXPECT_EQ(report.copied.size(), 2u);
  EXPECT_EQ(report.rehash.links.size(), 2u);
  auto again = export_capath(f.sub, f.tmp.path() / "capath");
  for (const auto& link : again.rehash.links) EXPECT_EQ(link.action, LinkAction::Kept);
}

}  // namespace
}  // namespace tlslab::pki
