// The _testing submodule: test-only hooks (row shards, internal errors) and the core's kernel probes.
#include <pybind11/stl.h>

#include "bindings/bind.hpp"
#include "bindings/convert.hpp"
#include "grow/kernel_probes.hpp"
#include "grow/row_scan.hpp"
#include "grow/row_shards.hpp"
#include "model/model.hpp"
#include "model/shap.hpp"
#include "objectives/objective.hpp"

namespace treeforge {

namespace {

void bind_hooks(py::module_& t) {
  t.def("set_row_shards", &set_row_shards_for_testing, py::arg("k"),
        "Every grower built afterwards cuts its rows into k shards whose histograms are built apart and synced.");
  t.def("row_shards", &row_shards_for_testing);
  t.def("shard_builds", &shard_builds_for_testing);
  t.def("set_row_scan", [](const std::string& policy) {
    const char* names[] = {"auto", "never", "always"};
    for (int p = 0; p < 3; ++p)
      if (policy == names[p]) return set_row_scan_policy_for_testing(static_cast<RowScanPolicy>(p));
    check(false, "row scan policy must be 'auto', 'never' or 'always', not '", policy, "'");
  }, py::arg("policy"),
        "Which nodes find their splits from their rows instead of histograms: 'auto' (by size), 'never', "
        "'always' (every node but the root; growers of row shards never).");
  t.def("row_scan", [] {
    const char* names[] = {"auto", "never", "always"};
    return std::string(names[static_cast<int>(row_scan_policy_for_testing())]);
  });
  t.def("row_scans", &row_scans_for_testing);
  t.def("raise_internal_error", [] { check_internal(false, "raised on purpose by a test"); });
}

void bind_kernel_probes(py::module_& t) {
  t.def("build_histogram", [](const BinnedMatrix& X, const py::object& grad, const py::object& hess,
                              const py::object& rows) {
    const auto gh = grad_pairs(grad, hess);
    const auto r = row_vector(rows);
    const auto decoded = decoded_histogram(X, Span<const GradPair>(gh.data(), gh.size()),
                                           Span<const row_t>(r.data(), r.size()));
    py::array_t<double> out({static_cast<std::size_t>(X.n_hist_slots()), std::size_t{3}});
    std::copy(decoded.begin(), decoded.end(), out.mutable_data());
    return out;
  }, py::arg("binned"), py::arg("grad"), py::arg("hess"), py::arg("rows") = py::none());
  t.def("histogram_subtraction_error", [](const BinnedMatrix& X, const py::object& grad, const py::object& hess,
                                          const py::object& rows_left) {
    const auto gh = grad_pairs(grad, hess);
    const auto left = row_vector(rows_left);
    return subtraction_error(X, Span<const GradPair>(gh.data(), gh.size()), Span<const row_t>(left.data(), left.size()));
  });
  t.def("find_best_split", [](const BinnedMatrix& X, const py::object& grad, const py::object& hess,
                              const TreeConfig& config, const py::object& rows, bool by_rows) {
    const auto gh = grad_pairs(grad, hess);
    const auto r = row_vector(rows);
    const SplitProbe probe = best_split(X, Span<const GradPair>(gh.data(), gh.size()), config,
                                        Span<const row_t>(r.data(), r.size()), by_rows);
    py::dict d;
    d["feature"] = probe.split.feature;
    d["bin"] = probe.split.bin;
    d["default_left"] = probe.split.default_left;
    d["kind"] = static_cast<int>(probe.split.kind);
    py::list categories;  // a set split's categories, ascending
    if (probe.split.kind == SplitKind::kCategorySet)
      for (int c = 0; c < kMaxCategories; ++c)
        if (probe.split.categories.contains(c)) categories.append(c);
    d["categories"] = categories;
    d["gain"] = probe.split.gain;
    d["left_count"] = probe.left_count;
    d["right_count"] = probe.right_count;
    return d;
  }, py::arg("binned"), py::arg("grad"), py::arg("hess"), py::arg("config"), py::arg("rows") = py::none(),
     py::arg("by_rows") = false);
  t.def("partition", [](const BinnedMatrix& X, const py::object& rows, int feature, int bin, bool default_left,
                        int n_threads) {
    const auto r = row_vector(rows);
    const auto sides = partition_rows(X, Span<const row_t>(r.data(), r.size()), feature, bin, default_left, n_threads);
    return py::make_tuple(to_numpy(sides.first), to_numpy(sides.second));
  });
  t.def("tree_leaves", [](const Model& model, const BinnedMatrix& X) {
    // The bin-space walk of training (Tree::leaf_of), which prediction never takes.
    check(X.n_features == model.n_features(), "X has a wrong number of features");
    py::array_t<std::int32_t> out({X.n_rows, static_cast<std::size_t>(model.n_trees())});
    auto o = out.mutable_unchecked<2>();
    for (std::size_t i = 0; i < X.n_rows; ++i)
      for (int t = 0; t < model.n_trees(); ++t) o(i, t) = model.trees()[t].leaf_of_row(X, i);
    return out;
  });
  t.def("gradients", [](const std::string& objective, int n_outputs, const py::object& y, const py::object& margin,
                        const py::object& weight, const py::object& group_begin) {
    const TrainData data{to_vector(y, "y"), to_vector(weight, "sample_weight"), {}, int64_vector(group_begin, "group_begin")};
    const GradientProbe probe = probe_gradients(objective, n_outputs, data, to_vector(margin, "margin"));
    return py::make_tuple(to_numpy(probe.grad), to_numpy(probe.hess), probe.loss);
  }, py::arg("objective"), py::arg("n_outputs"), py::arg("y"), py::arg("margin"), py::arg("sample_weight") = py::none(),
     py::arg("group_begin") = py::none());
  t.def("shap_contributions_by_paths", [](const Model& model, const py::array& X, int n_threads) {
    check(X.ndim() == 2, "X must be a 2-D array");
    const auto width = static_cast<std::size_t>(model.n_features()) + 1;
    py::array_t<double> out({static_cast<std::size_t>(X.shape(0)), static_cast<std::size_t>(model.n_outputs()), width});
    Span<double> o(out.mutable_data(), static_cast<std::size_t>(out.size()));
    with_matrix(X, [&](auto view) { shap_contributions_by_paths(model, view, o, n_threads); return 0; });
    return out;
  }, py::arg("model"), py::arg("X"), py::arg("n_threads") = 1);
}

}  // namespace

void bind_testing(py::module_& m) {
  auto t = m.def_submodule("_testing", "Test-only hooks and the core's kernels on explicit inputs; not public API.");
  bind_hooks(t);
  bind_kernel_probes(t);
}

}  // namespace treeforge
