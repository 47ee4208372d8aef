// The lab's own record: session.operator, session.sample and session.notes from the config go
// into summary.json and `aeqlab sessions` (table and --json); metrics.csv carries the wall clock.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"

namespace aeqlab::e2e {
namespace {

class LabRecord : public ProgramTest {};

TEST_F(LabRecord, OperatorSampleAndNotesAreRecordedAndListed) {
  const auto session = tmp_ / "S";
  const auto r = run({"train", "--set", "data.set=xor", "--set", "device.layers=[2,4,2]", "--set",
                      "trainer.epochs=2", "--set", "session.operator=ada", "--set",
                      "session.sample=board B, rev 2", "--set", "session.notes=after the cool-down",
                      "--out", session.string()});
  ASSERT_EQ(r.status, 0) << r.all();
  const auto summary = nlohmann::json::parse(read_file(session / "summary.json"));
  EXPECT_EQ(summary["operator"], "ada");
  EXPECT_EQ(summary["sample"], "board B, rev 2");
  EXPECT_EQ(summary["notes"], "after the cool-down");

  const auto listed = run({"sessions", "--json", session.string()});
  ASSERT_EQ(listed.status, 0) << listed.all();
  const auto j = nlohmann::json::parse(listed.out);
  EXPECT_EQ(j["operator"], "ada");
  EXPECT_EQ(j["sample"], "board B, rev 2");
  EXPECT_EQ(j["notes"], "after the cool-down");
  const auto table = run({"sessions", session.string()});
  EXPECT_NE(table.out.find("operator"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("board B, rev 2"), std::string::npos) << table.out;

  const std::string csv = read_file(session / "metrics.csv");
  EXPECT_NE(csv.substr(0, csv.find('\n')).find(",unix_seconds"), std::string::npos) << csv;

  const auto bad = run({"train", "--set", "data.set=xor", "--set", "session.operator=5", "--out",
                        (tmp_ / "B").string()});
  EXPECT_EQ(bad.status, 2) << bad.all();
  EXPECT_NE(bad.err.find("session.operator: expected a string"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace aeqlab::e2e
