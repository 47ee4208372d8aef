// The circuit device behind virtual instruments: `aeqlab serve` lays the relaxing XOR circuit out
// on DACs and ADCs, and `aeqlab train --bench` trains it through them over TCP, as it would a
// circuit on the bench. XOR is learned, and no value outside its safe range reaches the wire.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"
#include "served_bench.hpp"

namespace aeqlab::e2e {
namespace {

class CircuitBench : public ProgramTest {};

TEST_F(CircuitBench, TheXorCircuitTrainsThroughVirtualInstruments) {
  const auto config = std::filesystem::path(AEQLAB_SOURCE_DIR) / "docs" / "examples" / "circuits" /
                      "xor-aeqprop.json";
  const std::string served = (tmp_ / "bench.json").string();
  ServedBench serve(tmp_.string(), {"--config", config.string(), "--bench-out", served});
  ASSERT_FALSE(serve.ready.empty());
  const auto trained = run(
      {"train", "--config", config.string(), "--bench", served, "--out", (tmp_ / "s").string()});
  const auto tally = serve.stop();
  ASSERT_EQ(trained.status, 0) << trained.all() << read_file(tmp_ / "serve-stderr.txt");
  ASSERT_TRUE(tally.contains("out_of_range")) << tally.dump();
  EXPECT_EQ(tally["out_of_range"].get<std::uint64_t>(), 0u) << tally.dump();
  EXPECT_GT(tally["settles"].get<std::uint64_t>(), 100u) << tally.dump();
  const auto summary = nlohmann::json::parse(read_file(tmp_ / "s" / "summary.json"));
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_EQ(summary["test_error"], 0.0) << summary.dump();
  const auto device = nlohmann::json::parse(read_file(tmp_ / "s" / "device.json"));
  EXPECT_EQ(device["instruments"].size(), serve.ready.size()) << device.dump();
}

}  // namespace
}  // namespace aeqlab::e2e
