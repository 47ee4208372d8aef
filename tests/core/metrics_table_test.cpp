// The session's metrics.csv: a header once, one row per call, empty cells for non-finite values,
// continuation of a file with the same columns, and the cut back to a checkpoint's size.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/metrics_table.hpp"
#include "temp_dir.hpp"
#include "test_support.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kColumns = {"epoch", "test_error", "rms_W0"};

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) fields.push_back(field);
  if (!line.empty() && line.back() == sep) fields.push_back("");  // a trailing empty cell
  return fields;
}

// Rows of cells; the last line must be complete.
std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  const std::string text = read_bytes(file);
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "the last row is not complete";
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) rows.push_back(split(line, ','));
  return rows;
}

std::string error_of(const std::function<void()>& f) {
  return test_support::error_text(f);
}

}  // namespace

TEST(MetricsTable, WritesTheHeaderOnceAndAppendsRows) {
  test_support::TempDir tmp;
  const fs::path file = tmp / "metrics.csv";
  {
    MetricsTable table(file, kColumns);
    EXPECT_EQ(table.columns(), kColumns);
    EXPECT_EQ(read_bytes(file), "epoch,test_error,rms_W0\n");
    EXPECT_EQ(table.bytes(), fs::file_size(file));
    table.add_row({1, 0.5, 0.125});
    table.add_row({2, 0.25, 2.5e-7});
    EXPECT_EQ(table.bytes(), fs::file_size(file));
    table.sync();
  }
  const auto rows = read_csv(file);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], kColumns);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "0.5", "0.125"}));
  EXPECT_EQ(std::stod(rows[2][2]), 2.5e-7) << "values must read back exactly";
}

TEST(MetricsTable, NonFiniteValuesAreEmptyCells) {
  test_support::TempDir tmp;
  const fs::path file = tmp / "metrics.csv";
  MetricsTable table(file, kColumns);
  const double inf = std::numeric_limits<double>::infinity();
  table.add_row({std::nan(""), 0.5, -inf});
  table.add_row({3, inf, std::nan("")});
  EXPECT_EQ(read_bytes(file), "epoch,test_error,rms_W0\n,0.5,\n3,,\n");
}

TEST(MetricsTable, RefusesARowOfTheWrongWidth) {
  test_support::TempDir tmp;
  MetricsTable table(tmp / "metrics.csv", kColumns);
  const auto before = table.bytes();
  EXPECT_THROW(table.add_row({1, 2}), std::logic_error);
  EXPECT_EQ(table.bytes(), before);
}

TEST(MetricsTable, ReopeningWithTheSameColumnsAppends) {
  test_support::TempDir tmp;
  const fs::path file = tmp / "metrics.csv";
  {
    MetricsTable table(file, kColumns);
    table.add_row({1, 0.5, 0.1});
  }
  {
    MetricsTable table(file, kColumns);
    EXPECT_EQ(table.bytes(), fs::file_size(file));
    table.add_row({2, 0.25, 0.2});
  }
  EXPECT_EQ(read_bytes(file), "epoch,test_error,rms_W0\n1,0.5,0.1\n2,0.25,0.2\n");
}

TEST(MetricsTable, ReopeningWithOtherColumnsNamesTheFileAndLeavesItAlone) {
  test_support::TempDir tmp;
  const fs::path file = tmp / "metrics.csv";
  {
    MetricsTable table(file, kColumns);
    table.add_row({1, 0.5, 0.1});
  }
  const std::string before = read_bytes(file);
  for (const auto& other : std::vector<std::vector<std::string>>{
           {"epoch", "test_error"},                      // a prefix of the header
           {"epoch", "test_error", "rms_W0", "rms_b1"},  // the header a prefix of these
           {"epoch", "train_error", "rms_W0"}}) {
    const std::string e = error_of([&] { MetricsTable t(file, other); });
    EXPECT_THAT(e, HasSubstr(file.string())) << other.size();
    EXPECT_THAT(e, HasSubstr("header")) << other.size();
  }
  EXPECT_EQ(read_bytes(file), before);
}

TEST(MetricsTable, KeepBytesCutsBackToAnEarlierSize) {
  test_support::TempDir tmp;
  const fs::path file = tmp / "metrics.csv";
  std::size_t after_first = 0;
  {
    MetricsTable table(file, kColumns);
    table.add_row({1, 0.5, 0.1});
    after_first = table.bytes();  // what a checkpoint records
    table.add_row({2, 0.25, 0.2});
    table.add_row({3, 0.125, 0.3});
  }
  {
    MetricsTable table(file, kColumns, after_first);
    EXPECT_EQ(table.bytes(), after_first);
    EXPECT_EQ(fs::file_size(file), after_first);
    table.add_row({2, 0.75, 0.4});
    EXPECT_EQ(table.bytes(), fs::file_size(file));
  }
  EXPECT_EQ(read_bytes(file), "epoch,test_error,rms_W0\n1,0.5,0.1\n2,0.75,0.4\n");

  // A size beyond the file cuts nothing; zero starts over with a new header.
  { MetricsTable table(file, kColumns, 1 << 20); }
  EXPECT_EQ(read_csv(file).size(), 3u);
  {
    MetricsTable table(file, {"epoch"}, 0);
    table.add_row({1});
  }
  EXPECT_EQ(read_bytes(file), "epoch\n1\n");
}

TEST(MetricsTable, WritesACsvWithOneFieldPerColumnInEveryRow) {
  test_support::TempDir tmp;
  const fs::path file = tmp / "metrics.csv";
  const std::vector<std::string> columns = {"epoch",      "samples_seen", "train_error_running",
                                            "test_error", "test_cost",    "compliance_W0",
                                            "rms_W0",     "change_rms_W0"};
  {
    MetricsTable table(file, columns);
    for (int epoch = 1; epoch <= 5; ++epoch)
      table.add_row({double(epoch), 60000.0 * epoch, 1.0 / (epoch + 2), 0.1 / epoch, 1e-300,
                     0.5 * std::pow(0.99, epoch), -1.0 / 3.0,
                     epoch == 1 ? std::nan("") : 12345.678});
  }
  const auto rows = read_csv(file);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0], columns);
  for (std::size_t r = 1; r < rows.size(); ++r) {
    ASSERT_EQ(rows[r].size(), columns.size()) << "row " << r;
    EXPECT_EQ(std::stod(rows[r][0]), double(r));
    EXPECT_EQ(std::stod(rows[r][1]), 60000.0 * double(r));
    EXPECT_EQ(std::stod(rows[r][2]), 1.0 / (double(r) + 2));
    EXPECT_EQ(std::stod(rows[r][4]), 1e-300);
    EXPECT_EQ(std::stod(rows[r][6]), -1.0 / 3.0);
  }
  EXPECT_EQ(rows[1][7], "");
}
