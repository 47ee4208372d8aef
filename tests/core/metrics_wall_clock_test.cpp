// metrics.csv's wall-clock column (unix_seconds, the last column): written with each row; a
// session recorded before it existed keeps its header when resumed, and its rows stay whole.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/metrics_sink.hpp"
#include "temp_dir.hpp"

using namespace aeqlab;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

DeviceDescription one_group() {
  DeviceDescription d;
  d.model = "test";
  d.parameters.push_back(
      {.channels = {.name = "W0", .count = 2, .unit = "1", .safe = {-1, 1}}, .compliance = 0.5});
  return d;
}

const EpochTally kTally{};
const Evaluation kTest{};

EpochReport report(std::size_t epoch) {
  return EpochReport{.epoch = epoch,
                     .epochs = 3,
                     .trained = 0,
                     .tally = kTally,
                     .device_settles_total = 0,
                     .test = kTest,
                     .scored = true,
                     .compliance = {0.5}};
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::istringstream in(read_bytes(file));
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST(MetricsWallClock, EachRowEndsWithTheUnixTimeItWasWritten) {
  test_support::TempDir tmp;
  const auto d = one_group();
  const double before =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  {
    MetricsSink sink(tmp.path(), d, 0);
    sink.epoch_ended(report(1));
  }
  const auto lines = lines_of(tmp / "metrics.csv");
  ASSERT_EQ(lines.size(), 2u);
  // The last column, whatever columns other parts add before it.
  EXPECT_TRUE(lines[0].ends_with(",unix_seconds")) << lines[0];
  const double t = std::stod(lines[1].substr(lines[1].rfind(',') + 1));
  EXPECT_GE(t, before - 1.0);
  EXPECT_LE(t, before + 60.0);
}

TEST(MetricsWallClock, ATableWrittenBeforeTheColumnKeepsItsHeaderOnResume) {
  test_support::TempDir tmp;
  const auto d = one_group();
  auto legacy = MetricsSink::columns(d);
  legacy.pop_back();
  std::string header;
  for (const auto& c : legacy) {
    if (!header.empty()) header += ',';
    header += c;
  }
  std::string row = "1";
  row.append(legacy.size() - 1, ',');
  row += '\n';
  std::ofstream(tmp / "metrics.csv") << header << "\n" << row;
  const std::size_t keep = header.size() + 1 + row.size();
  {
    MetricsSink sink(tmp.path(), d, keep);
    sink.epoch_ended(report(2));
  }
  const auto lines = lines_of(tmp / "metrics.csv");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], header);
  EXPECT_EQ(std::count(lines[2].begin(), lines[2].end(), ','), long(legacy.size() - 1));
}
