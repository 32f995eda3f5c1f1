#include <gtest/gtest.h>

#include "lab/lab.hpp"

namespace tlslab::lab {
namespace {

TEST(Task, NamesEachTaskAsTheOutputDoes) {
  EXPECT_EQ(to_string(Task::Setup), "setup");
  EXPECT_EQ(to_string(Task::T1a), "1a");
  EXPECT_EQ(to_string(Task::T1b), "1b");
  EXPECT_EQ(to_string(Task::T1c), "1c");
  EXPECT_EQ(to_string(Task::T1d), "1d");
  EXPECT_EQ(to_string(Task::T2), "2");
  EXPECT_EQ(to_string(Task::T2a), "2a");
  EXPECT_EQ(to_string(Task::T2b), "2b");
  EXPECT_EQ(to_string(Task::T2c), "2c");
  EXPECT_EQ(to_string(Task::T3), "3");
}

TEST(Task, ParsesTheTasksOneCanAskFor) {
  for (Task t : {Task::T1a, Task::T1b, Task::T1c, Task::T1d, Task::T2a, Task::T2b, Task::T2c, Task::T3})
    EXPECT_EQ(parse_task(to_string(t)), t) << to_string(t);
}

TEST(Task, RefusesTheRest) {
  // The setup always runs and "2" only heads 2a-2c; "all" is the absence of a task, not one.
  for (const char* name : {"setup", "2", "all", "", "1A", "1e", "4", " 1a"})
    EXPECT_EQ(parse_task(name), std::nullopt) << name;
}

}  // namespace
}  // namespace tlslab::lab
