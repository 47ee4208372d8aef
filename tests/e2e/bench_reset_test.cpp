// Independent dry runs: each new session on a virtual bench starts from the server's initial
// state (`train` sends *RST, the server restores its physics and logs it), so two sessions on one
// `aeqlab serve` end with the same bits; with session.reset_virtual_bench false the second starts
// from the first's trained state. docs/virtual-bench.md, "*RST".

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"
#include "served_bench.hpp"

namespace aeqlab::e2e {
namespace {

const std::string kConfig =
    xor_bench_config(R"("trainer": {"epochs": 3, "batch_size": 1}, "session": {"detail": "off"})");

class BenchReset : public ProgramTest {};

std::string first_row(const std::filesystem::path& session) {
  const std::string csv = read_file(session / "metrics.csv");
  const auto a = csv.find('\n') + 1;
  return csv.substr(a, csv.find('\n', a) - a);
}

std::string test_cost_of_row(const std::string& row) {
  // epoch, samples_seen, train_error_running, train_cost_running, test_error, test_cost, ...
  std::size_t at = 0;
  for (int i = 0; i < 5; ++i) at = row.find(',', at) + 1;
  return row.substr(at, row.find(',', at) - at);
}

TEST_F(BenchReset, EachSessionStartsFromTheServersInitialState) {
  const auto config = write("config.json", kConfig);
  const std::string served = (tmp_ / "served.json").string();
  ServedBench serve(tmp_.string(), {"--config", config.string(), "--bench-out", served});
  auto train = [&](const std::string& out, std::vector<std::string> more = {}) {
    std::vector<std::string> args{"train", "--config", config.string(),      "--bench",
                                  served,  "--out",    (tmp_ / out).string()};
    args.insert(args.end(), more.begin(), more.end());
    const auto r = run(args);
    EXPECT_EQ(r.status, 0) << r.all();
    return r;
  };
  const auto first = train("A");
  EXPECT_NE(first.err.find("virtual bench: reset to its initial state (*RST"), std::string::npos)
      << first.err;
  train("B");
  train("C", {"--set", "session.reset_virtual_bench=false"});
  serve.stop();

  auto sha = [&](const char* s) {
    return nlohmann::json::parse(read_file(tmp_ / s / "summary.json"))["parameters_sha256"];
  };
  EXPECT_EQ(sha("A"), sha("B"));
  EXPECT_EQ(first_row(tmp_ / "A").substr(0, 40), first_row(tmp_ / "B").substr(0, 40));
  // Without the reset the third session starts where the second ended: another first epoch.
  EXPECT_NE(test_cost_of_row(first_row(tmp_ / "C")), test_cost_of_row(first_row(tmp_ / "A")));
  const std::string log = read_file(tmp_ / "serve-stderr.txt");
  std::size_t resets = 0;
  for (auto at = log.find("*RST: the physics"); at != std::string::npos;
       at = log.find("*RST: the physics", at + 1))
    ++resets;
  EXPECT_EQ(resets, 2u) << log;
}

}  // namespace
}  // namespace aeqlab::e2e
