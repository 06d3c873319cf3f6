// A Model as a Python dict of its fields (Model.to_arrays, Model.from_arrays, pickles), by ModelArrays' field list.
#pragma once

#include <pybind11/pybind11.h>

#include "model/model.hpp"

namespace treeforge {

/// Every field of the model by name: scalars as Python ints and strings, arrays as 1-D NumPy
/// arrays of the field's C++ type.
pybind11::dict model_to_dict(const Model& model);

/// The model of a dict of fields, read strictly: an array's dtype must be the field's exactly (no
/// silent casts of hostile data), a field absent from the dict's format version (or optional)
/// stays empty, an unknown key is refused; Model::from_arrays then checks every value.
/// Throws std::invalid_argument (ValueError) naming the first problem.
Model model_from_dict(const pybind11::dict& d);

}  // namespace treeforge
