#include "core/mnist.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

namespace {

constexpr std::size_t kPixels = 784;

// The digit files are one flat array each; a purpose-made scanner reads them ten times faster
// than a general JSON parser and can say exactly where a damaged file goes wrong.
class DigitFileScanner {
 public:
  DigitFileScanner(std::string text, const std::filesystem::path& file)
      : text_(std::move(text)), file_(file) {}

  std::vector<float> data_array() {
    expect('{');
    expect('"');
    if (text_.compare(at_, 5, "data\"") != 0) fail("expected the key \"data\"");
    at_ += 5;
    expect(':');
    expect('[');
    std::vector<float> values;
    values.reserve(kPixels * 1200);
    skip_space();
    if (peek() != ']') {
      for (;;) {
        skip_space();
        double v = 0.0;
        const char* begin = text_.data() + at_;
        const auto [end, ec] = std::from_chars(begin, text_.data() + text_.size(), v);
        if (ec != std::errc() || end == begin) fail("expected a number");
        at_ += std::size_t(end - begin);
        // Decimal to double to float, as a JSON reader in float32 would see the file.
        values.push_back(float(v));
        skip_space();
        if (peek() == ',') {
          ++at_;
          continue;
        }
        break;
      }
    }
    expect(']');
    expect('}');
    skip_space();
    if (at_ != text_.size()) fail("unexpected text after the data object");
    return values;
  }

 private:
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  void skip_space() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_]))) ++at_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++at_;
  }
  [[noreturn]] void fail(const std::string& what) const {
    const auto line =
        1 + std::count(text_.begin(), text_.begin() + std::ptrdiff_t(std::min(at_, text_.size())),
                       '\n');
    throw DataError(
        fmt::format("{}:{}: malformed digit file (byte {}): {}", file_.string(), line, at_, what));
  }

  std::string text_;
  const std::filesystem::path& file_;
  std::size_t at_ = 0;
};

std::vector<float> read_digit_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw DataError(fmt::format("{}: cannot open the MNIST digit file (run scripts/fetch-mnist)",
                                file.string()));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> values = DigitFileScanner(std::move(text), file).data_array();
  if (values.empty() || values.size() % kPixels != 0)
    throw DataError(fmt::format("{}: \"data\" has {} values, not a positive multiple of {}",
                                file.string(), values.size(), kPixels));
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!(values[i] >= 0.0f && values[i] <= 1.0f))
      throw DataError(fmt::format("{}: value {} of sample {} is {}, outside [0, 1]", file.string(),
                                  i % kPixels, i / kPixels, values[i]));
  return values;
}

}  // namespace

Split load_mnist(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir))
    throw DataError(
        fmt::format("{}: MNIST folder not found (run scripts/fetch-mnist)", dir.string()));
  Split split;
  for (Dataset* d : {&split.train, &split.test}) {
    d->features = kPixels;
    d->classes = 10;
  }
  split.train.name = "mnist-train";
  split.test.name = "mnist-test";
  for (int digit = 0; digit < 10; ++digit) {
    const auto values = read_digit_file(dir / fmt::format("{}.json", digit));
    const std::size_t n = values.size() / kPixels;
    const std::size_t n_train = (8 * n) / 10;  // floor(0.8 n), in integers
    auto append = [&](Dataset& d, std::size_t from, std::size_t to) {
      d.inputs.insert(d.inputs.end(), values.begin() + from * kPixels,
                      values.begin() + to * kPixels);
      d.labels.insert(d.labels.end(), to - from, digit);
    };
    append(split.train, 0, n_train);
    append(split.test, n_train, n);
  }
  return split;
}

}  // namespace aeqlab
