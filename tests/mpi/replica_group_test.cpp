// Run by CTest under `mpirun -n 2` (tests/CMakeLists.txt): the ranks as a replica group, and the
// Hopfield network's relaxation split over them, bit for bit against one process (docs/mpi.md).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/cli/mpi_world.hpp"
#include "sim/hopfield/hopfield_network.hpp"

namespace aeqlab {
namespace {

std::shared_ptr<ReplicaGroup> group() {
  static const bool up = cli::mpi::start();
  return up ? cli::mpi::world() : nullptr;
}

TEST(ReplicaGroup, GathersInRankOrder) {
  auto g = group();
  ASSERT_TRUE(g) << "run me with mpirun -n 2 (CTest does)";
  ASSERT_GE(g->size(), 2u);
  // Rank r gives r + 1 values, each 100 r + i: the result is every block, in rank order.
  std::vector<std::size_t> counts;
  std::size_t total = 0;
  for (std::size_t r = 0; r < g->size(); ++r) {
    counts.push_back(r + 1);
    total += r + 1;
  }
  std::vector<double> mine;
  for (std::size_t i = 0; i <= g->rank(); ++i)
    mine.push_back(100.0 * double(g->rank()) + double(i));
  std::vector<double> all(total, -1.0);
  g->all_gather(mine, counts, all);
  std::size_t at = 0;
  for (std::size_t r = 0; r < g->size(); ++r)
    for (std::size_t i = 0; i <= r; ++i) EXPECT_EQ(all[at++], 100.0 * double(r) + double(i));
}

TEST(ReplicaGroup, AnyIsTrueEverywhereWhenTrueSomewhere) {
  auto g = group();
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->any(false));
  EXPECT_TRUE(g->any(g->rank() == g->size() - 1));
  EXPECT_TRUE(g->any(true));
}

template <typename T>
void same_relaxation_as_one_process(std::size_t batch) {
  auto g = group();
  ASSERT_TRUE(g);
  sim::HopfieldSpec spec;
  spec.layers = {20, 33, 7};
  spec.replicas = 32;
  spec.double_precision = sizeof(T) == 8;
  sim::HopfieldNetwork<T> alone(spec), shared(spec);
  shared.share_replicas(g);
  std::mt19937_64 rng(batch);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<T> x(batch * spec.layers[0]), t(batch * spec.layers.back());
  for (auto& v : x) v = T(u(rng) < 0.3 ? u(rng) : 0.0);
  for (auto& v : t) v = T(u(rng));
  for (int step = 0; step < 3; ++step) {
    for (auto* net : {&alone, &shared}) {
      net->set_inputs(x.data(), batch);
      net->set_nudge(T(0.5), t.data());
      const auto r = net->relax_free();
      EXPECT_GT(r.iterations, 0u);
    }
    for (std::size_t l = 1; l < spec.layers.size(); ++l)
      ASSERT_EQ(std::memcmp(alone.state(l).data(), shared.state(l).data(),
                            sizeof(T) * std::size_t(alone.state(l).size())),
                0)
          << "layer " << l << ", batch " << batch << ", step " << step;
    for (std::size_t k = 0; k + 1 < spec.layers.size(); ++k)
      ASSERT_EQ(std::memcmp(alone.weight(k).data(), shared.weight(k).data(),
                            sizeof(T) * std::size_t(alone.weight(k).size())),
                0)
          << "W" << k << ", batch " << batch << ", step " << step;
  }
}

// Odd batches too: a partial last batch, fewer rows than one packet per rank.
TEST(SharedRelaxation, Float64MatchesOneProcessBitForBit) {
  for (std::size_t batch : {32u, 26u, 13u, 3u, 1u}) same_relaxation_as_one_process<double>(batch);
}

TEST(SharedRelaxation, Float32MatchesOneProcessBitForBit) {
  for (std::size_t batch : {32u, 26u, 13u, 3u}) same_relaxation_as_one_process<float>(batch);
}

}  // namespace
}  // namespace aeqlab
