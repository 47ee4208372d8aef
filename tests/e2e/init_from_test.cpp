// Warm start: `train --init-from SESSION` begins a new session from another's final parameters
// (recorded in the new session's config.json); a device of another shape is refused by the
// parameter group's name.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"

namespace aeqlab::e2e {
namespace {

class InitFrom : public ProgramTest {};

double first_test_cost(const std::filesystem::path& session) {
  const std::string csv = read_file(session / "metrics.csv");
  std::size_t at = csv.find('\n') + 1;
  for (int i = 0; i < 5; ++i) at = csv.find(',', at) + 1;  // epoch .. test_error
  return std::stod(csv.substr(at, csv.find(',', at) - at));
}

TEST_F(InitFrom, ANewSessionStartsFromAnothersFinalParameters) {
  // docs/examples/xor.json
  const auto config_file = write("xor.json", R"({
  "device": {"layers": [2, 16, 2], "gains": [4.0, 1.0],
             "compliance": {"weights": [0.5, 0.1], "biases": [0.2, 0.02]}},
  "data": {"set": "xor"},
  "trainer": {"epochs": 100, "batch_size": 4, "compliance_decay": 0.995}})");
  const std::vector<std::string> xor_net{"--config", config_file.string()};
  auto train = [&](const std::string& out, std::vector<std::string> more) {
    std::vector<std::string> args{"train", "--out", (tmp_ / out).string()};
    args.insert(args.end(), xor_net.begin(), xor_net.end());
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  };
  auto a = train("A", {});
  ASSERT_EQ(a.status, 0) << a.all();
  auto b = train("B", {"--set", "trainer.epochs=2", "--init-from", (tmp_ / "A").string()});
  ASSERT_EQ(b.status, 0) << b.all();
  EXPECT_NE(b.err.find("starting from"), std::string::npos) << b.err;
  // From scratch the first epoch tests at about 0.5; from A's parameters at about A's final cost.
  const auto summary_a = nlohmann::json::parse(read_file(tmp_ / "A" / "summary.json"));
  EXPECT_LT(first_test_cost(tmp_ / "B"), 0.2 * first_test_cost(tmp_ / "A"));
  EXPECT_LT(first_test_cost(tmp_ / "B"), 2.0 * summary_a["test_cost"].get<double>() + 0.01);
  const auto config = nlohmann::json::parse(read_file(tmp_ / "B" / "config.json"));
  EXPECT_EQ(config["session"]["init_from"],
            std::filesystem::absolute(tmp_ / "A").lexically_normal().string());

  auto c = train("C", {"--set", "device.layers=[2,8,2]", "--init-from", (tmp_ / "A").string()});
  EXPECT_EQ(c.status, 2) << c.all();
  EXPECT_NE(c.err.find("parameter group W0 of 32 values where this one (hopfield 2-8-2) has W0 "
                       "of 16"),
            std::string::npos)
      << c.err;
  // A resume continues its own session: --init-from has no place there.
  auto d = run({"train", "--resume", (tmp_ / "B").string(), "--init-from", (tmp_ / "A").string()});
  EXPECT_EQ(d.status, 2) << d.all();
}

}  // namespace
}  // namespace aeqlab::e2e
