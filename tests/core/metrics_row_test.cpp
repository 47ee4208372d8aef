// A metrics row is built by column name: the table writes it in its header's order, and a row
// that misses a column or names one the table does not have is refused, naming it.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/metrics_table.hpp"
#include "temp_dir.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string logic_error_of(MetricsTable& table, const MetricsRow& row) {
  try {
    table.add_row(row);
  } catch (const std::logic_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(MetricsRow, ValuesGoToTheirColumnsWhateverTheOrderTheyWereSetIn) {
  test_support::TempDir tmp;
  MetricsTable table(tmp / "metrics.csv", {"epoch", "test_error", "rms_W0"});
  table.add_row(MetricsRow().set("rms_W0", 0.5).set("epoch", 1).set("test_error", 0.25));
  table.add_row(MetricsRow().set("epoch", 2).set("test_error", std::nan("")).set("rms_W0", 2.5));
  EXPECT_EQ(read_bytes(tmp / "metrics.csv"), "epoch,test_error,rms_W0\n1,0.25,0.5\n2,,2.5\n");
}

TEST(MetricsRow, AMissingOrUnknownOrRepeatedColumnIsRefusedAndNothingWritten) {
  test_support::TempDir tmp;
  MetricsTable table(tmp / "metrics.csv", {"epoch", "test_error"});
  const auto header = table.bytes();
  EXPECT_THAT(logic_error_of(table, MetricsRow().set("epoch", 1)), HasSubstr("test_error"));
  EXPECT_THAT(
      logic_error_of(table, MetricsRow().set("epoch", 1).set("test_error", 0).set("tset", 1)),
      HasSubstr("tset"));
  EXPECT_THAT(
      logic_error_of(table, MetricsRow().set("epoch", 1).set("epoch", 2).set("test_error", 0)),
      HasSubstr("epoch"));
  EXPECT_EQ(table.bytes(), header);
  EXPECT_EQ(read_bytes(tmp / "metrics.csv"), "epoch,test_error\n");
}
