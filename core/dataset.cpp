#include "core/dataset.hpp"

#include <algorithm>

namespace aeqlab {

void gather_batch(const Dataset& data, std::span<const std::size_t> indices, std::vector<double>& x,
                  std::vector<double>& t) {
  x.resize(indices.size() * data.features);
  t.assign(indices.size() * data.classes, 0.0);
  for (std::size_t r = 0; r < indices.size(); ++r) {
    const auto s = data.sample(indices[r]);
    std::copy(s.begin(), s.end(), x.begin() + r * data.features);
    t[r * data.classes + data.labels[indices[r]]] = 1.0;
  }
}

}  // namespace aeqlab
