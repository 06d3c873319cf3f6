// Model: prediction entry points, importances, and the dict form of its fields (to_arrays, from_arrays, pickles).
#include <pybind11/stl.h>

#include "bindings/bind.hpp"
#include "bindings/convert.hpp"
#include "bindings/model_dict.hpp"
#include "model/model.hpp"
#include "model/shap.hpp"
#include "objectives/objective.hpp"

namespace treeforge {

void bind_model(py::module_& m) {
  m.attr("MODEL_FORMAT_VERSION") = kModelFormatVersion;
  py::class_<Model, std::shared_ptr<Model>>(m, "Model")
      .def_property_readonly("n_features", &Model::n_features)
      .def_property_readonly("n_outputs", &Model::n_outputs)
      .def_property_readonly("n_iter", &Model::n_iter)
      .def_property_readonly("n_trees", &Model::n_trees)
      .def_property_readonly("objective", &Model::objective)
      .def_property_readonly("bin_mapper", [](const Model& model) { return std::make_shared<BinMapper>(*model.bin_mapper()); })
      .def("predict_margin", [](const Model& model, const py::object& X, int n_threads, int iter_begin, int iter_end) {
            py::array_t<double> out({n_rows_of(X), static_cast<std::size_t>(model.n_outputs())});
            Span<double> o(out.mutable_data(), static_cast<std::size_t>(out.size()));
            with_rows(X, [&](auto view) { model.predict_margin(view, iter_begin, iter_end, o, n_threads); return 0; });
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1, py::arg("iter_begin") = 0, py::arg("iter_end") = -1)
      .def("predict_leaf", [](const Model& model, const py::object& X, int n_threads) {
            py::array_t<std::int32_t> out({n_rows_of(X), static_cast<std::size_t>(model.n_trees())});
            Span<std::int32_t> o(out.mutable_data(), static_cast<std::size_t>(out.size()));
            with_rows(X, [&](auto view) { model.predict_leaf(view, o, n_threads); return 0; });
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1)
      .def("shap_contributions", [](const Model& model, const py::array& X, int n_threads) {
            check(X.ndim() == 2, "X must be a 2-D array");
            const auto width = static_cast<std::size_t>(model.n_features()) + 1;
            py::array_t<double> out({static_cast<std::size_t>(X.shape(0)), static_cast<std::size_t>(model.n_outputs()), width});
            Span<double> o(out.mutable_data(), static_cast<std::size_t>(out.size()));
            with_matrix(X, [&](auto view) { shap_contributions(model, view, o, n_threads); return 0; });
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1)
      .def("shap_interactions", [](const Model& model, const py::array& X, int n_threads) {
            check(X.ndim() == 2, "X must be a 2-D array");
            const auto width = static_cast<std::size_t>(model.n_features()) + 1;
            py::array_t<double> out({static_cast<std::size_t>(X.shape(0)), static_cast<std::size_t>(model.n_outputs()), width, width});
            Span<double> o(out.mutable_data(), static_cast<std::size_t>(out.size()));
            with_matrix(X, [&](auto view) { shap_interactions(model, view, o, n_threads); return 0; });
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1)
      .def("feature_importances", [](const Model& model) { return to_numpy(model.feature_importances()); })
      .def("tree_feature_importances", [](const Model& model) {
        py::array_t<double> out({static_cast<std::size_t>(model.n_trees()), static_cast<std::size_t>(model.n_features())});
        const auto importance = model.tree_feature_importances();
        std::copy(importance.begin(), importance.end(), out.mutable_data());
        return out;
      })
      .def_property_readonly("tree_weights", [](const Model& model) { return to_numpy(model.tree_weights()); })
      .def("to_arrays", &model_to_dict)
      .def_static("from_arrays", [](const py::dict& d) { return std::make_shared<Model>(model_from_dict(d)); })
      .def(py::pickle([](const Model& model) { return model_to_dict(model); },
                      [](const py::dict& d) { return std::make_shared<Model>(model_from_dict(d)); }));

  m.def("apply_link", [](const std::string& objective, const py::array& margin) {
    auto a = DoubleArray::ensure(margin);
    check(a && a.ndim() == 2, "margin must be a 2-D (n_samples, n_outputs) array");
    auto obj = make_objective(objective, static_cast<int>(a.shape(1)));
    py::array_t<double> out({a.shape(0), a.shape(1)});
    std::copy(a.data(), a.data() + a.size(), out.mutable_data());
    obj->inverse_link(Span<double>(out.mutable_data(), static_cast<std::size_t>(out.size())));
    return out;
  }, py::arg("objective"), py::arg("margin"));

}

}  // namespace treeforge
