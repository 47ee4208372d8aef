#pragma once
// Labelled samples for classification: inputs row-major as float (the data sets' own precision),
// labels as class indices. Targets for the outputs are the one-hot code of the label.

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace aeqlab {

struct Dataset {
  std::string name;
  std::size_t features = 0;
  std::size_t classes = 0;
  std::vector<float> inputs;  // size() * features
  std::vector<int> labels;

  std::size_t size() const { return labels.size(); }
  std::span<const float> sample(std::size_t i) const {
    return {inputs.data() + i * features, features};
  }
};

struct Split {
  Dataset train;
  Dataset test;
};

// Fills `x` (rows of inputs) and `t` (rows of one-hot targets) for the samples `indices`.
void gather_batch(const Dataset& data, std::span<const std::size_t> indices, std::vector<double>& x,
                  std::vector<double>& t);

}  // namespace aeqlab
