#include "core/python/json_conversion.hpp"

#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace py = pybind11;

namespace aeqlab::python {

nlohmann::json to_json(py::handle value, const std::string& where) {
  if (value.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>();
  if (py::isinstance<py::int_>(value)) {
    const auto v = value.cast<long long>();
    if (v >= 0) return static_cast<unsigned long long>(v);
    return v;
  }
  if (py::isinstance<py::float_>(value)) return value.cast<double>();
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  if (py::isinstance<py::dict>(value)) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : value.cast<py::dict>()) {
      if (!py::isinstance<py::str>(k))
        throw ConfigError(fmt::format("{}: keys must be strings, got {}", where,
                                      py::repr(k).cast<std::string>()));
      const auto key = k.cast<std::string>();
      j[key] = to_json(v, where + "." + key);
    }
    return j;
  }
  // Paths (pathlib) are written as strings.
  if (py::hasattr(value, "__fspath__")) return value.attr("__fspath__")().cast<std::string>();
  // NumPy arrays and scalars: their Python form (lists, int, float, bool).
  if (py::hasattr(value, "tolist") && !py::isinstance<py::list>(value))
    return to_json(value.attr("tolist")(), where);
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    nlohmann::json j = nlohmann::json::array();
    std::size_t i = 0;
    for (const auto& v : value) j.push_back(to_json(v, fmt::format("{}[{}]", where, i++)));
    return j;
  }
  throw ConfigError(fmt::format("{}: {} has no JSON form (numbers, strings, lists and dicts only)",
                                where, py::repr(value).cast<std::string>()));
}

py::object to_python(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return py::none();
    case nlohmann::json::value_t::boolean:
      return py::bool_(value.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return py::int_(value.get<long long>());
    case nlohmann::json::value_t::number_unsigned:
      return py::int_(value.get<unsigned long long>());
    case nlohmann::json::value_t::number_float:
      return py::float_(value.get<double>());
    case nlohmann::json::value_t::string:
      return py::str(value.get<std::string>());
    case nlohmann::json::value_t::array: {
      py::list l;
      for (const auto& v : value) l.append(to_python(v));
      return l;
    }
    case nlohmann::json::value_t::object: {
      py::dict d;
      for (const auto& [k, v] : value.items()) d[py::str(k)] = to_python(v);
      return d;
    }
    default:
      return py::none();
  }
}

}  // namespace aeqlab::python
