#pragma once
// Small built-in tasks for tests and bench-sized circuits, and tabular CSV files.

#include <cstdint>
#include <filesystem>

#include "core/dataset.hpp"

namespace aeqlab {

// The four XOR patterns in {0, 1}^2, two classes; train and test are the same four.
Split xor_task();

// Two interleaved half-moons, scaled into [0, 1]^2, `n` samples each for train and test.
Split two_moons(std::size_t n, double noise, std::uint64_t seed);

// A CSV of numeric features with the integer class label in the last column (a header line is
// skipped when its first field is not a number). Features are min-max scaled into [0, 1] with
// the training file's ranges. Errors name the file and line.
Dataset read_csv_dataset(const std::filesystem::path& file);
Split csv_task(const std::filesystem::path& train, const std::filesystem::path& test);

}  // namespace aeqlab
