// The SCPI wire trace (session.wire_trace): every message to and from each instrument, with
// timestamps, in the session's wire.jsonl. Checked against the virtual bench's own count of the
// messages it received, and against what each instrument answers to *IDN?.

#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"
#include "served_bench.hpp"

namespace aeqlab::e2e {
namespace {

const std::string kConfig =
    xor_bench_config(R"("trainer": {"epochs": 2, "batch_size": 1}, "session": {"detail": "off"})");

class WireTraceTest : public ProgramTest {};

TEST_F(WireTraceTest, EveryMessageToAndFromEachInstrumentIsRecordedWithItsTime) {
  const auto config = write("config.json", kConfig);
  const std::string served = (tmp_ / "served.json").string();
  ServedBench serve(tmp_.string(), {"--config", config.string(), "--bench-out", served});
  const auto session = tmp_ / "S";
  const auto r = run({"train", "--config", config.string(), "--bench", served, "--out",
                      session.string(), "--set", "session.wire_trace=true"});
  ASSERT_EQ(r.status, 0) << r.all();
  const auto plain = run(
      {"train", "--config", config.string(), "--bench", served, "--out", (tmp_ / "P").string()});
  ASSERT_EQ(plain.status, 0) << plain.all();
  const auto tally = serve.stop();
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "P" / "wire.jsonl"));

  std::map<std::string, std::string> idn_of;  // instrument -> what the server says it is
  for (const auto& ready : serve.ready) idn_of[ready["instrument"]] = ready["idn"];
  std::istringstream trace(read_file(session / "wire.jsonl"));
  std::size_t sent = 0, received = 0, lines = 0;
  std::map<std::string, std::string> last_sent;
  std::map<std::string, bool> identified;
  std::string first;
  for (std::string line; std::getline(trace, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    ASSERT_TRUE(j.contains("time") && j.contains("t") && j.contains("address")) << line;
    const std::string who = j.at("instrument");
    ASSERT_TRUE(idn_of.count(who)) << "unknown instrument in " << line;
    ASSERT_TRUE(j.contains("text") || j.contains("hex")) << line;
    const std::string text = j.value("text", "");
    if (j["dir"] == "sent") {
      ++sent;
      if (first.empty()) first = text;
      last_sent[who] = text;
    } else {
      ASSERT_EQ(j["dir"], "received") << line;
      ++received;
      if (last_sent[who].starts_with("*IDN?") && text.starts_with(idn_of[who]))
        identified[who] = true;
    }
  }
  // The session began with the reset of the virtual bench; every instrument identified itself;
  // the server received exactly as many messages as the trace says were sent, in both sessions
  // together (the second one, untraced, sent as many: the same run).
  EXPECT_TRUE(first.starts_with("*RST")) << first;
  EXPECT_EQ(identified.size(), idn_of.size());
  EXPECT_GT(received, 0u);
  EXPECT_EQ(2 * sent, tally.value("messages", 0ul)) << tally.dump();
}

}  // namespace
}  // namespace aeqlab::e2e
