// The run's status: one spelling per status, read back from what is written.
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/run_status.hpp"

using namespace aeqlab;

TEST(RunStatus, EveryStatusReadsBackFromItsName) {
  for (const RunStatus s : {RunStatus::completed, RunStatus::aborted, RunStatus::failed,
                            RunStatus::running, RunStatus::interrupted, RunStatus::unreadable}) {
    const auto back = run_status_from(to_string(s));
    ASSERT_TRUE(back.has_value()) << to_string(s);
    EXPECT_EQ(*back, s);
  }
}

TEST(RunStatus, TheNamesAreThoseOfTheSessionRecord) {
  EXPECT_STREQ(to_string(RunStatus::completed), "completed");
  EXPECT_STREQ(to_string(RunStatus::aborted), "aborted");
  EXPECT_STREQ(to_string(RunStatus::failed), "failed");
  EXPECT_STREQ(to_string(RunStatus::running), "running");
  EXPECT_STREQ(to_string(RunStatus::interrupted), "interrupted");
  EXPECT_STREQ(to_string(RunStatus::unreadable), "unreadable");
  EXPECT_FALSE(run_status_from("Completed").has_value());
  EXPECT_FALSE(run_status_from("").has_value());
  EXPECT_FALSE(run_status_from("exploded").has_value());
}

TEST(RunStatus, AStatusEqualsItsNameAndPrintsAsIt) {
  EXPECT_EQ(RunStatus::aborted, "aborted");
  EXPECT_NE(RunStatus::aborted, "failed");
  std::ostringstream out;
  out << RunStatus::interrupted;
  EXPECT_EQ(out.str(), "interrupted");
}
