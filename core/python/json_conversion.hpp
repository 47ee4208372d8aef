#pragma once
// Python data to JSON and back: configs given as dicts, summaries and descriptions returned as
// dicts. NumPy scalars and arrays are taken as the numbers and lists they hold.

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>

namespace aeqlab::python {

// Throws ConfigError naming `where` and the value that has no JSON form.
nlohmann::json to_json(pybind11::handle value, const std::string& where = "config");
pybind11::object to_python(const nlohmann::json& value);

}  // namespace aeqlab::python
