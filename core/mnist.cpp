#include "core/mnist.hpp"

#include <fstream>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

namespace {

constexpr std::size_t kPixels = 784;

// Keeps only numbers, as float, while the parser reads: a 2 MB file never becomes a DOM tree.
std::vector<float> read_digit_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in)
    throw DataError(fmt::format("{}: cannot open the MNIST digit file (run scripts/fetch-mnist)",
                                file.string()));
  std::vector<float> values;
  values.reserve(kPixels * 1200);
  bool saw_data = false, bad_value = false;
  int depth = 0;
  using json = nlohmann::json;
  json::parser_callback_t keep = [&](int d, json::parse_event_t event, json& parsed) {
    depth = d;
    if (event == json::parse_event_t::key) {
      if (d == 1 && parsed == "data") saw_data = true;
      return true;
    }
    if (event == json::parse_event_t::value && d == 2) {
      if (!parsed.is_number()) {
        bad_value = true;
        return false;
      }
      values.push_back(parsed.get<float>());
      return false;  // discard: we already have it
    }
    return true;
  };
  try {
    json::parse(in, keep);
  } catch (const json::parse_error& e) {
    throw DataError(fmt::format("{}: malformed JSON: {}", file.string(), e.what()));
  }
  (void)depth;
  if (!saw_data) throw DataError(fmt::format("{}: has no \"data\" array", file.string()));
  if (bad_value) throw DataError(fmt::format("{}: \"data\" holds a non-number", file.string()));
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
    throw DataError(fmt::format("{}: MNIST folder not found (run scripts/fetch-mnist)", dir.string()));
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
      d.inputs.insert(d.inputs.end(), values.begin() + from * kPixels, values.begin() + to * kPixels);
      d.labels.insert(d.labels.end(), to - from, digit);
    };
    append(split.train, 0, n_train);
    append(split.test, n_train, n);
  }
  return split;
}

}  // namespace aeqlab
