// Model <-> dict of its fields: one walk of ModelArrays' field list each way.
#include "bindings/model_dict.hpp"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings/convert.hpp"

namespace py = pybind11;

namespace treeforge {

namespace {

template <class T>
void read_field(const py::handle& obj, const char* key, std::vector<T>& out) {
  check(py::isinstance<py::array>(obj), "model field '", key, "' must be a NumPy array");
  auto a = obj.cast<py::array>();
  if (a.dtype().num() != py::dtype::of<T>().num() || a.ndim() != 1)
    throw std::invalid_argument(std::string("model field '") + key + "' must be a 1-D array of " +
                                std::string(py::str(py::dtype::of<T>())));
  auto typed = CArrayCast<T>::ensure(a);
  out.assign(typed.data(), typed.data() + typed.size());
}

template <class T>
void read_field(const py::handle& obj, const char* key, T& out) {
  try {
    out = obj.cast<T>();
  } catch (const py::cast_error&) {
    throw std::invalid_argument(std::string("model field '") + key + "' has a wrong type");
  }
}

template <class T>
py::object field_value(const std::vector<T>& v) {
  py::array_t<T> out(v.size());
  std::copy(v.begin(), v.end(), out.mutable_data());
  return std::move(out);
}

template <class T>
py::object field_value(const T& v) {
  return py::cast(v);
}

/// Refuses a key of `d` that names no field.
void check_known_keys(const py::dict& d) {
  ModelArrays names;
  for (const auto& item : d) {
    bool known = false;
    for_each_field(names, [&](const FieldInfo& field, const auto&) { known |= py::str(field.name).equal(item.first); });
    if (!known) throw std::invalid_argument("model has an unknown field " + std::string(py::repr(item.first)));
  }
}

}  // namespace

py::dict model_to_dict(const Model& model) {
  const ModelArrays a = model.to_arrays();
  py::dict d;
  for_each_field(a, [&](const FieldInfo& field, const auto& member) { d[field.name] = field_value(member); });
  return d;
}

Model model_from_dict(const py::dict& d) {
  ModelArrays a;
  std::size_t n_known = 0;
  for_each_field(a, [&](const FieldInfo& field, auto& member) {
    if (!d.contains(field.name)) {
      // format_version comes first: later fields know the dict's version.
      check(field.rule == FieldInfo::kOptional || a.format_version < field.since_version, "model field '",
            field.name, "' is missing");
      return;
    }
    read_field(d[field.name], field.name, member);
    ++n_known;
  });
  if (n_known != d.size()) check_known_keys(d);
  return Model::from_arrays(a);
}

}  // namespace treeforge
