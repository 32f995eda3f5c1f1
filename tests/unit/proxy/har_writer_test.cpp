#include "proxy/har_writer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "base/files.hpp"
#include "support/failure.hpp"
#include "support/temp_dir.hpp"

namespace tlslab::proxy {
namespace {

using namespace std::chrono_literals;
using testing::failure_message;
using ::testing::HasSubstr;
using Clock = HarWriter::Clock;

nlohmann::json read_har(const std::filesystem::path& path) {
  return nlohmann::json::parse(read_file(path, "HAR", Kind::Input));
}

nlohmann::json entry(const std::string& url) { return {{"request", {{"url", url}}}}; }

void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

TEST(HarWriter, EmptyHarAtStartThenAtMostOneWriteASecond) {
  testing::TempDir dir;
  auto path = dir.path() / "flows.har";
  Clock::time_point t0{};
  HarWriter har(path, "1.0", false, t0);
  auto doc = read_har(path);  // there from the start, valid and empty
  EXPECT_EQ(doc["log"]["version"], "1.2");
  EXPECT_EQ(doc["log"]["creator"]["name"], "tlslab");
  EXPECT_TRUE(doc["log"]["entries"].empty());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  EXPECT_FALSE(har.flush_if_due(t0 + 2s));  // nothing waiting: no write
  har.add(entry("https://a/1"));
  EXPECT_TRUE(har.flush_if_due(t0 + 2s));
  EXPECT_EQ(read_har(path)["log"]["entries"].size(), 1u);
  har.add(entry("https://a/2"));
  EXPECT_FALSE(har.flush_if_due(t0 + 2500ms));  // half a second after the last write: not yet
  EXPECT_EQ(read_har(path)["log"]["entries"].size(), 1u);
  EXPECT_TRUE(har.flush_if_due(t0 + 3s));
  doc = read_har(path);
  ASSERT_EQ(doc["log"]["entries"].size(), 2u);
  EXPECT_EQ(doc["log"]["entries"][1]["request"]["url"], "https://a/2");
  har.add(entry("https://a/3"));
  har.flush();  // at exit: whatever the clock says
  EXPECT_EQ(read_har(path)["log"]["entries"].size(), 3u);
  EXPECT_EQ(har.entries(), 3u);
  // Only the file itself in the folder: no temporary file left beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(HarWriter, AnExistingHarIsReplacedOtherFilesOnlyWithForce) {
  testing::TempDir dir;
  auto har_file = dir.path() / "old.har";
  write_text(har_file, R"({"log": {"version": "1.2", "entries": [{"x": 1}]}})");
  HarWriter replaced(har_file, "1.0", false, Clock::time_point{});
  EXPECT_TRUE(read_har(har_file)["log"]["entries"].empty());

  auto notes = dir.path() / "notes.txt";
  write_text(notes, "my notes, not a HAR\n");
  auto message = failure_message([&] { HarWriter(notes, "1.0", false, Clock::time_point{}); }, Kind::Exists);
  EXPECT_THAT(message, HasSubstr(notes.string()));
  EXPECT_THAT(message, HasSubstr("is not a HAR"));
  EXPECT_THAT(message, HasSubstr("--force"));
  EXPECT_EQ(read_file(notes, "notes", Kind::Input), "my notes, not a HAR\n");  // untouched
  HarWriter forced(notes, "1.0", true, Clock::time_point{});
  EXPECT_TRUE(read_har(notes)["log"]["entries"].empty());
}

TEST(HarWriter, PathsThatCannotBeWrittenAreRefusedWithTheReason) {
  testing::TempDir dir;
  auto message = failure_message([&] { HarWriter::check(dir.path(), false); }, Kind::Write);
  EXPECT_THAT(message, HasSubstr("it is a directory"));
  message = failure_message([&] { HarWriter::check(dir.path() / "missing" / "f.har", false); }, Kind::Write);
  EXPECT_THAT(message, HasSubstr("does not exist"));
  EXPECT_THAT(message, HasSubstr("cannot write the HAR file there"));
  auto blocker = dir.path() / "a-file";
  write_text(blocker, "x");
  message = failure_message([&] { HarWriter::check(blocker / "f.har", false); }, Kind::Write);
  EXPECT_THAT(message, HasSubstr("is not a folder"));
  message = failure_message([&] { HarWriter::check("/dev/null", true); }, Kind::Write);
  EXPECT_THAT(message, HasSubstr("not a regular file"));
  if (::geteuid() != 0) {  // root writes anywhere
    auto locked = dir.path() / "locked";
    std::filesystem::create_directory(locked);
    ::chmod(locked.c_str(), 0500);
    message = failure_message([&] { HarWriter(locked / "f.har", "1.0", false, Clock::time_point{}); }, Kind::Write);
    EXPECT_THAT(message, HasSubstr("is not writable"));
    ::chmod(locked.c_str(), 0700);
  }
}

TEST(HarWriter, EntriesFromManyThreads) {
  testing::TempDir dir;
  auto path = dir.path() / "flows.har";
  HarWriter har(path, "1.0", false, Clock::time_point{});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        har.add(entry("https://a/" + std::to_string(t) + "/" + std::to_string(i)));
        (void)har.flush_if_due(Clock::time_point{} + std::chrono::seconds(i + 1));
      }
    });
  for (auto& t : threads) t.join();
  har.flush();
  EXPECT_EQ(read_har(path)["log"]["entries"].size(), 200u);
}

}  // namespace
}  // namespace tlslab::proxy
