// The session's log.txt holds the whole run as the console showed it: the lines said while the
// bench was opened (before the session folder existed) come first, in the file's format, and the
// console's first line has the console's format. The final measurement is announced.
// docs/sessions.md, "log.txt".

#include <regex>

#include <gtest/gtest.h>

#include "program_fixture.hpp"
#include "served_bench.hpp"

namespace aeqlab::e2e {
namespace {

class BenchLog : public ProgramTest {};

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

TEST_F(BenchLog, LinesSaidBeforeTheSessionExistsAreInLogTxtInOneFormat) {
  // batch_size 4 on a bench: the first thing train says is that a bench has one replica.
  const auto config = write("config.json", xor_bench_config(R"("trainer": {"epochs": 1,
      "batch_size": 4}, "session": {"detail": "off"})"));
  const std::string served = (tmp_ / "served.json").string();
  ServedBench serve(tmp_.string(), {"--config", config.string(), "--bench-out", served});
  const auto out = tmp_ / "S";
  const auto r =
      run({"train", "--config", config.string(), "--bench", served, "--out", out.string()});
  serve.stop();
  ASSERT_EQ(r.status, 0) << r.all();

  const std::string console = first_line(r.err);
  EXPECT_TRUE(
      std::regex_search(console, std::regex(R"(^\[\d\d:\d\d:\d\d\] info a bench has one replica)")))
      << r.err;
  const std::string log = read_file(out / "log.txt");
  EXPECT_TRUE(std::regex_search(
      first_line(log),
      std::regex(
          R"(^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] info a bench has one replica: trainer.batch_size 4 -> 1$)")))
      << log;
  // Said while the bench was reset, before the folder existed; then the session's own lines.
  const auto reset = log.find("virtual bench: reset to its initial state");
  const auto session = log.find("info session ");
  EXPECT_NE(reset, std::string::npos) << log;
  EXPECT_LT(reset, session) << log;
  EXPECT_NE(log.find("info measuring the final parameters on the 4 training samples"),
            std::string::npos)
      << log;
  EXPECT_NE(r.err.find("measuring the final parameters on the 4 training samples"),
            std::string::npos);
}

}  // namespace
}  // namespace aeqlab::e2e
