#include "base/files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace tlslab {
namespace {
namespace fs = std::filesystem;

// A fresh directory under the test temp dir, removed at the end of the test.
class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tlslab-files-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::size_t entries() const { return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {})); }

  fs::path dir_;
};

TEST_F(AtomicFileTest, VisibleOnlyAfterCommit) {
  auto path = dir_ / "out.bin";
  {
    AtomicFile file(path);
    file.write("hello");
    EXPECT_FALSE(fs::exists(path));
    file.commit();
  }
  EXPECT_EQ(slurp(path), "hello");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFileTest, NotDurableStillReplacesWholeWithTheMode) {
  auto path = dir_ / "cache.pem";
  write_file_atomic(path, "old", 0600);
  write_file_atomic(path, "new content", 0644, /*exclusive=*/false, /*durable=*/false);
  EXPECT_EQ(slurp(path), "new content");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(entries(), 1u);  // no temporary file left beside it
}

TEST_F(AtomicFileTest, AbandonedLeavesNothingAndKeepsTheOldFile) {
  auto path = dir_ / "out.bin";
  write_file_atomic(path, "old");
  {
    AtomicFile file(path);
    file.write("partial");
  }
  EXPECT_EQ(slurp(path), "old");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFileTest, SymlinkTargetIsReplacedNotTheLink) {
  auto target = dir_ / "real.bin";
  auto link = dir_ / "link.bin";
  write_file_atomic(target, "old");
  fs::create_symlink(target, link);
  AtomicFile file(link);
  file.write("new");
  file.commit();
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(slurp(target), "new");
}

// A FIFO stands for any non-regular file (-o /dev/null): written directly, never replaced.
TEST_F(AtomicFileTest, FifoIsWrittenNotReplaced) {
  auto fifo = dir_ / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = slurp(fifo); });
  {
    AtomicFile file(fifo);
    file.write("through the pipe");
    file.commit();
  }
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(entries(), 1u);
}

}  // namespace
}  // namespace tlslab
