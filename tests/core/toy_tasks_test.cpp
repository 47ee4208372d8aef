// Built-in toy tasks and tabular CSV files.
#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/toy_tasks.hpp"
#include "temp_dir.hpp"

using namespace aeqlab;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

std::string data_error(const std::filesystem::path& file) {
  try {
    read_csv_dataset(file);
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ToyTasks, XorIsTheFourPatterns) {
  const Split s = xor_task();
  for (const Dataset* d : {&s.train, &s.test}) {
    EXPECT_EQ(d->features, 2u);
    EXPECT_EQ(d->classes, 2u);
    ASSERT_EQ(d->size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
      const auto x = d->sample(i);
      const int expected = (x[0] > 0.5f) != (x[1] > 0.5f);
      EXPECT_EQ(d->labels[i], expected) << "sample " << i;
      for (const float v : x) EXPECT_TRUE(v == 0.0f || v == 1.0f);
    }
  }
  EXPECT_EQ(s.train.inputs, s.test.inputs);
  EXPECT_EQ(s.train.labels, s.test.labels);
  // All four corners, each once.
  std::vector<std::pair<float, float>> corners;
  for (std::size_t i = 0; i < 4; ++i)
    corners.emplace_back(s.train.sample(i)[0], s.train.sample(i)[1]);
  std::sort(corners.begin(), corners.end());
  EXPECT_THAT(corners, ElementsAre(std::pair{0.f, 0.f}, std::pair{0.f, 1.f}, std::pair{1.f, 0.f},
                                   std::pair{1.f, 1.f}));
}

TEST(ToyTasks, TwoMoonsIsReproducibleForASeed) {
  const Split a = two_moons(100, 0.1, 42), b = two_moons(100, 0.1, 42), c = two_moons(100, 0.1, 43);
  EXPECT_EQ(a.train.inputs, b.train.inputs);
  EXPECT_EQ(a.test.inputs, b.test.inputs);
  EXPECT_EQ(a.train.labels, b.train.labels);
  EXPECT_NE(a.train.inputs, c.train.inputs) << "the seed is ignored";
  EXPECT_NE(a.train.inputs, a.test.inputs) << "test is a copy of train";
}

TEST(ToyTasks, TwoMoonsLiesInTheUnitSquareWithBalancedClasses) {
  const Split s = two_moons(200, 0.2, 7);
  for (const Dataset* d : {&s.train, &s.test}) {
    EXPECT_EQ(d->size(), 200u);
    EXPECT_EQ(d->features, 2u);
    EXPECT_EQ(d->classes, 2u);
    EXPECT_EQ(d->inputs.size(), 400u);
    for (const float v : d->inputs) {
      EXPECT_GE(v, 0.0f);
      EXPECT_LE(v, 1.0f);
    }
    EXPECT_EQ(std::count(d->labels.begin(), d->labels.end(), 0), 100);
    EXPECT_EQ(std::count(d->labels.begin(), d->labels.end(), 1), 100);
  }
  // The two moons are told apart by their shape: class means differ.
  double mean_y[2] = {0, 0};
  for (std::size_t i = 0; i < s.train.size(); ++i)
    mean_y[s.train.labels[i]] += s.train.sample(i)[1];
  EXPECT_GT(mean_y[0] / 100, mean_y[1] / 100 + 0.1);
}

TEST(CsvData, SkipsTheHeaderAndReadsFeaturesAndLabels) {
  test_support::TempDir tmp;
  const auto file = tmp.write("iris.csv",
                              "sepal,petal,species\n"
                              "5.1,1.4,0\n"
                              "7.0,4.7,1\n"
                              "# a comment\n"
                              "\n"
                              "6.3,6.0,2\n");
  const Dataset d = read_csv_dataset(file);
  EXPECT_EQ(d.name, "iris");
  EXPECT_EQ(d.features, 2u);
  EXPECT_EQ(d.classes, 3u);
  EXPECT_THAT(d.labels, ElementsAre(0, 1, 2));
  EXPECT_THAT(d.inputs, ElementsAre(5.1f, 1.4f, 7.0f, 4.7f, 6.3f, 6.0f));
}

TEST(CsvData, ScalesBothFilesWithTheTrainingRanges) {
  test_support::TempDir tmp;
  const auto train = tmp.write("train.csv", "0,10,0\n4,20,1\n2,15,1\n");
  const auto test = tmp.write("test.csv", "1,10,1\n8,5,0\n");
  const Split s = csv_task(train, test);
  EXPECT_THAT(s.train.inputs, ElementsAre(0.0f, 0.0f, 1.0f, 1.0f, 0.5f, 0.5f));
  // Test values outside the training range are held at its edges, so inputs stay in [0, 1].
  EXPECT_THAT(s.test.inputs, ElementsAre(0.25f, 0.0f, 1.0f, 0.0f));
  EXPECT_EQ(s.train.classes, 2u);
  EXPECT_EQ(s.test.classes, 2u);
}

TEST(CsvData, ABadRowNamesTheFileAndLine) {
  test_support::TempDir tmp;
  const auto file = tmp.write("bad.csv", "a,b,label\n1,2,0\n3,oops,1\n");
  const std::string e = data_error(file);
  EXPECT_THAT(e, HasSubstr(file.string() + ":3"));
  EXPECT_THAT(e, HasSubstr("oops"));
}

TEST(CsvData, AHeaderAfterTheFirstLineIsABadRow) {
  test_support::TempDir tmp;
  const auto file = tmp.write("late.csv", "1,2,0\na,b,label\n");
  EXPECT_THAT(data_error(file), HasSubstr(file.string() + ":2"));
}

TEST(CsvData, NonIntegerLabelsAreRefused) {
  test_support::TempDir tmp;
  const auto half = tmp.write("half.csv", "1,2,0\n3,4,1.5\n");
  EXPECT_THAT(data_error(half), HasSubstr(half.string() + ":2"));
  const auto negative = tmp.write("negative.csv", "1,2,0\n3,4,-1\n5,6,1\n");
  EXPECT_THAT(data_error(negative), HasSubstr(negative.string() + ":2"));
}

TEST(CsvData, ARaggedRowNamesTheFileAndLine) {
  test_support::TempDir tmp;
  const auto file = tmp.write("ragged.csv", "1,2,0\n3,4,1\n5,1\n");
  EXPECT_THAT(data_error(file), HasSubstr(file.string() + ":3"));
  const auto lone = tmp.write("lone.csv", "1\n");
  EXPECT_THAT(data_error(lone), HasSubstr(lone.string() + ":1"));
}

TEST(CsvData, NonFiniteValuesAreRefused) {
  // std::stod reads "nan" and "inf"; a NaN feature would reach the device as a NaN input.
  test_support::TempDir tmp;
  const auto nan = tmp.write("nan.csv", "1,2,0\nnan,4,1\n");
  EXPECT_THAT(data_error(nan), HasSubstr(nan.string() + ":2"));
  const auto inf = tmp.write("inf.csv", "1,2,0\n3,inf,1\n");
  EXPECT_THAT(data_error(inf), HasSubstr(inf.string() + ":2"));
}

TEST(CsvData, EmptyAndMissingFilesAreNamed) {
  test_support::TempDir tmp;
  const auto empty = tmp.write("empty.csv", "a,b,label\n");
  EXPECT_THAT(data_error(empty), HasSubstr(empty.string()));
  EXPECT_THAT(data_error(tmp / "absent.csv"), HasSubstr("absent.csv"));
}

TEST(CsvData, TestFileWithOtherFeaturesIsRefused) {
  test_support::TempDir tmp;
  const auto train = tmp.write("train.csv", "1,2,0\n3,4,1\n");
  const auto test = tmp.write("test.csv", "1,2,3,0\n");
  try {
    csv_task(train, test);
    FAIL() << "a test file with 3 features was paired with a 2-feature training file";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr(test.string()));
  }
}

TEST(Dataset, GatherBatchBuildsRowsAndOneHotTargets) {
  const Split s = xor_task();
  const std::vector<std::size_t> rows = {3, 1};
  std::vector<double> x, t;
  gather_batch(s.train, rows, x, t);
  EXPECT_THAT(x, ElementsAre(1.0, 1.0, 0.0, 1.0));
  EXPECT_THAT(t, ElementsAre(1.0, 0.0, 0.0, 1.0));
}
