#pragma once
// aeqlab.Device in Python: the contract's checked operations on any device (built in or written
// in Python), the trampoline that lets Python subclass it, and the built-in devices made from a
// config's device section (docs/python.md).

#include <pybind11/pybind11.h>

namespace aeqlab::python {

void bind_device(pybind11::module_& m);

}  // namespace aeqlab::python
