#include "core/toy_tasks.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numbers>
#include <random>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

Split xor_task() {
  Dataset d;
  d.name = "xor";
  d.features = 2;
  d.classes = 2;
  d.inputs = {0, 0, 0, 1, 1, 0, 1, 1};
  d.labels = {0, 1, 1, 0};
  return {d, d};
}

static Dataset moons(std::size_t n, double noise, std::mt19937_64& rng, const char* name) {
  Dataset d;
  d.name = name;
  d.features = 2;
  d.classes = 2;
  std::uniform_real_distribution<double> angle(0.0, std::numbers::pi);
  std::normal_distribution<double> jitter(0.0, noise);
  for (std::size_t i = 0; i < n; ++i) {
    const int label = int(i % 2);
    const double a = angle(rng);
    double x = label ? 1.0 - std::cos(a) : std::cos(a);
    double y = label ? 0.5 - std::sin(a) : std::sin(a);
    x += jitter(rng);
    y += jitter(rng);
    // The moons span about [-1.5, 2.5] x [-1, 1.5]: map that box into [0, 1]^2.
    d.inputs.push_back(float(std::clamp((x + 1.5) / 4.0, 0.0, 1.0)));
    d.inputs.push_back(float(std::clamp((y + 1.0) / 2.5, 0.0, 1.0)));
    d.labels.push_back(label);
  }
  return d;
}

Split two_moons(std::size_t n, double noise, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Split s;
  s.train = moons(n, noise, rng, "two-moons-train");
  s.test = moons(n, noise, rng, "two-moons-test");
  return s;
}

Dataset read_csv_dataset(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw DataError(fmt::format("{}: cannot open the CSV file", file.string()));
  Dataset d;
  d.name = file.stem().string();
  std::string line;
  std::size_t line_no = 0;
  int max_label = -1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, ',')) fields.push_back(f);
    std::vector<double> values;
    bool numeric = true;
    for (const auto& field : fields) {
      try {
        std::size_t used = 0;
        values.push_back(std::stod(field, &used));
        if (!std::isfinite(values.back())) numeric = false;  // stod reads "nan", "inf"
        if (field.find_first_not_of(" \t\r", used) != std::string::npos) numeric = false;
      } catch (const std::exception&) {
        numeric = false;
      }
    }
    if (!numeric) {
      if (d.labels.empty() && line_no == 1) continue;  // a header
      throw DataError(fmt::format("{}:{}: not a row of numbers: {}", file.string(), line_no, line));
    }
    if (fields.size() < 2)
      throw DataError(fmt::format("{}:{}: needs features and a label", file.string(), line_no));
    if (d.features == 0) d.features = fields.size() - 1;
    if (fields.size() - 1 != d.features)
      throw DataError(fmt::format("{}:{}: {} features, earlier rows had {}", file.string(), line_no,
                                  fields.size() - 1, d.features));
    const double label = values.back();
    if (label < 0 || label != std::floor(label))
      throw DataError(fmt::format("{}:{}: label {} is not a class index (0, 1, ...)", file.string(),
                                  line_no, label));
    for (std::size_t i = 0; i + 1 < values.size(); ++i) d.inputs.push_back(float(values[i]));
    d.labels.push_back(int(label));
    max_label = std::max(max_label, int(label));
  }
  if (d.labels.empty()) throw DataError(fmt::format("{}: no samples", file.string()));
  d.classes = std::size_t(max_label + 1);
  return d;
}

Split csv_task(const std::filesystem::path& train, const std::filesystem::path& test) {
  Split s{read_csv_dataset(train), read_csv_dataset(test)};
  if (s.test.features != s.train.features)
    throw DataError(fmt::format("{}: {} features, the training file has {}", test.string(),
                                s.test.features, s.train.features));
  s.test.classes = s.train.classes = std::max(s.train.classes, s.test.classes);
  std::vector<float> lo(s.train.features, INFINITY), hi(s.train.features, -INFINITY);
  for (std::size_t i = 0; i < s.train.size(); ++i)
    for (std::size_t f = 0; f < s.train.features; ++f) {
      lo[f] = std::min(lo[f], s.train.sample(i)[f]);
      hi[f] = std::max(hi[f], s.train.sample(i)[f]);
    }
  for (Dataset* d : {&s.train, &s.test})
    for (std::size_t i = 0; i < d->inputs.size(); ++i) {
      const std::size_t f = i % d->features;
      const float span = hi[f] - lo[f];
      d->inputs[i] = span > 0 ? std::clamp((d->inputs[i] - lo[f]) / span, 0.0f, 1.0f) : 0.0f;
    }
  return s;
}

}  // namespace aeqlab
