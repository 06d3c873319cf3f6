// Module _core: converts arrays and configs, releases the GIL, calls the core, wraps results.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "learners/adaboost.hpp"
#include "data/binning.hpp"
#include "core/config.hpp"
#include "learners/forest.hpp"
#include "learners/gbdt.hpp"
#include "grow/grower.hpp"
#include "grow/histogram.hpp"
#include "bindings/model_dict.hpp"
#include "model/model.hpp"
#include "objectives/objective.hpp"
#include "core/parallel.hpp"
#include "grow/partition.hpp"
#include "grow/row_shards.hpp"
#include "core/random.hpp"
#include "grow/splitter.hpp"

namespace py = pybind11;
using namespace treeforge;

namespace {

using FloatArray = py::array_t<float, py::array::c_style>;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

template <class T>
MatrixView<const T> matrix_view(const py::array_t<T, py::array::c_style>& X) {
  check(X.ndim() == 2, "X must be a 2-D array");
  return {X.data(), static_cast<std::size_t>(X.shape(0)), static_cast<std::size_t>(X.shape(1))};
}

/// Calls fn(MatrixView<const float>) for C-contiguous float32 input, else fn(MatrixView<const double>)
/// on a float64 C-contiguous view (converted only if needed). The GIL is released around fn.
template <class Fn>
auto with_matrix(const py::array& X, Fn&& fn) {
  if (py::isinstance<FloatArray>(X) && (X.flags() & py::array::c_style)) {
    auto a = X.cast<FloatArray>();
    auto view = matrix_view<float>(a);
    py::gil_scoped_release nogil;
    return fn(view);
  }
  auto a = DoubleArray::ensure(X);
  check(static_cast<bool>(a), "X must be a numeric array");
  py::array_t<double, py::array::c_style> contiguous = a;
  auto view = matrix_view<double>(contiguous);
  py::gil_scoped_release nogil;
  return fn(view);
}

std::vector<double> to_vector(const py::object& obj, const char* name) {
  if (obj.is_none()) return {};
  auto a = DoubleArray::ensure(obj);
  check(a && a.ndim() == 1, std::string(name) + " must be a 1-D numeric array");
  return std::vector<double>(a.data(), a.data() + a.size());
}

std::vector<std::int64_t> int64_vector(const py::object& obj, const char* name) {
  if (obj.is_none()) return {};
  auto a = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(obj);
  check(a && a.ndim() == 1, name, " must be a 1-D integer array");
  return std::vector<std::int64_t>(a.data(), a.data() + a.size());
}

template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v) {
  py::array_t<T> out(v.size());
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

/// Output-major (k * n + i) margins as a (n, k) array.
py::array_t<double> margin_rows(const std::vector<double>& margin, std::size_t n, int k) {
  py::array_t<double> out({n, static_cast<std::size_t>(k)});
  double* o = out.mutable_data();
  for (std::size_t i = 0; i < n; ++i)
    for (int c = 0; c < k; ++c) o[i * k + c] = margin[c * n + i];
  return out;
}

std::vector<GradPair> grad_pairs(const py::object& grad, const py::object& hess) {
  const auto g = to_vector(grad, "grad"), h = to_vector(hess, "hess");
  check(g.size() == h.size(), "grad and hess must have the same length");
  std::vector<GradPair> gh(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) gh[i] = {static_cast<float>(g[i]), static_cast<float>(h[i])};
  return gh;
}

std::vector<row_t> row_vector(const py::object& rows) {
  std::vector<row_t> out;
  if (rows.is_none()) return out;
  auto a = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(rows);
  check(a && a.ndim() == 1, "rows must be a 1-D integer array");
  for (py::ssize_t i = 0; i < a.size(); ++i) out.push_back(static_cast<row_t>(a.data()[i]));
  return out;
}

/// row_vector of a list the caller gave: an empty list means no rows (not all of them).
std::vector<row_t> listed_rows(const py::object& rows) {
  std::vector<row_t> out = row_vector(rows);
  check(rows.is_none() || !out.empty(), "rows is empty: there are no rows to bin");
  return out;
}

/// Exposes config.tree.*field as a flat attribute `name` of a learner's config class.
template <class Config, class T>
void tree_field(py::class_<Config>& cls, const char* name, T TreeConfig::*field) {
  cls.def_property(name, [field](const Config& c) { return c.tree.*field; },
                   [field](Config& c, T v) { c.tree.*field = v; });
}

/// Labels of a forest or AdaBoost: y (regression) or class indices (classification), and weights.
TrainData ensemble_data(const py::object& y, const py::object& classes, const py::object& sample_weight) {
  TrainData data;
  data.y = to_vector(classes.is_none() ? y : classes, classes.is_none() ? "y" : "classes");
  data.weight = to_vector(sample_weight, "sample_weight");
  return data;
}

/// Exposes config.criterion as a string attribute of a learner's config class.
template <class Config>
void criterion_field(py::class_<Config>& cls) {
  cls.def_property("criterion", [](const Config& c) { return std::string(tree_criterion_name(c.criterion)); },
                   [](Config& c, const std::string& v) { c.criterion = parse_tree_criterion(v); });
}

/// Exposes the shape limits of config.tree (leaves, depth, samples per leaf and split) as flat attributes.
template <class Config>
void tree_shape_fields(py::class_<Config>& cls) {
  tree_field(cls, "max_leaf_nodes", &TreeConfig::max_leaf_nodes);
  tree_field(cls, "max_depth", &TreeConfig::max_depth);
  tree_field(cls, "min_samples_leaf", &TreeConfig::min_samples_leaf);
  tree_field(cls, "min_samples_split", &TreeConfig::min_samples_split);
  cls.def_property("grow_policy", [](const Config& c) { return grow_policy_name(c.tree.grow_policy); },
                   [](Config& c, const std::string& v) { c.tree.grow_policy = parse_grow_policy(v); });
}

/// `rows` as row indices, or every row of X when None or empty.
std::vector<row_t> rows_or_all(const BinnedMatrix& X, const py::object& rows) {
  std::vector<row_t> out = row_vector(rows);
  for (row_t r : out) check(r < X.n_rows, "row out of range");
  if (out.empty())
    for (row_t r = 0; r < X.n_rows; ++r) out.push_back(r);
  return out;
}

void bind_testing(py::module_& m) {
  // Kernels for tests only: histogram, split finder and partition on explicit inputs.
  auto t = m.def_submodule("_testing", "Core kernels exposed for tests; not public API.");
  t.def("set_row_shards", &set_row_shards_for_testing, py::arg("k"),
        "Every grower built afterwards cuts its rows into k shards whose histograms are built apart and synced.");
  t.def("row_shards", &row_shards_for_testing);
  t.def("raise_internal_error", [] { check_internal(false, "raised on purpose by a test"); });
  t.def("shard_builds", &shard_builds_for_testing);
  t.def("build_histogram", [](const BinnedMatrix& X, const py::object& grad, const py::object& hess,
                              const py::object& rows) {
    const auto gh = grad_pairs(grad, hess);
    const Span<const GradPair> g(gh.data(), gh.size());
    const auto row_list = rows_or_all(X, rows);
    const Span<const row_t> r(row_list.data(), row_list.size());
    const TreeConfig config;
    const GradScale scale = GradScale::fit(g, r, 1);
    const GradientCriterion criterion(g, scale, config);
    constexpr int kStride = GradientCriterion::kChannels;
    std::vector<std::int64_t> hist(static_cast<std::size_t>(X.n_hist_slots()) * kStride);
    HistogramBuilder(X, 2).build(criterion, r, hist.data());
    // Decoded per slot: sum of gradients, sum of hessians, row count.
    py::array_t<double> out({static_cast<std::size_t>(X.n_hist_slots()), std::size_t{3}});
    double* o = out.mutable_data();
    for (int s = 0; s < X.n_hist_slots(); ++s) {
      const std::int64_t* slot = hist.data() + static_cast<std::size_t>(s) * kStride;
      o[3 * s] = scale.grad(slot[0]);
      o[3 * s + 1] = scale.hess(slot[1]);
      o[3 * s + 2] = static_cast<double>(criterion.count(slot));
    }
    return out;
  }, py::arg("binned"), py::arg("grad"), py::arg("hess"), py::arg("rows") = py::none());
  t.def("histogram_subtraction_error", [](const BinnedMatrix& X, const py::object& grad, const py::object& hess,
                                          const py::object& rows_left) {
    // Returns (max |parent - left - right_built| over all slot fields): 0 when subtraction is exact.
    const auto gh = grad_pairs(grad, hess);
    const Span<const GradPair> g(gh.data(), gh.size());
    auto left_rows = row_vector(rows_left);
    std::vector<std::uint8_t> is_left(X.n_rows, 0);
    for (row_t r : left_rows) is_left.at(r) = 1;
    std::vector<row_t> all_rows, right_rows;
    for (row_t r = 0; r < X.n_rows; ++r) {
      all_rows.push_back(r);
      if (!is_left[r]) right_rows.push_back(r);
    }
    const TreeConfig config;
    const GradientCriterion criterion(g, GradScale::fit(g, {}, 1), config);
    HistogramBuilder builder(X, 2);
    const std::size_t size = static_cast<std::size_t>(X.n_hist_slots()) * GradientCriterion::kChannels;
    std::vector<std::int64_t> parent(size), left(size), right(size);
    builder.build(criterion, Span<const row_t>(all_rows.data(), all_rows.size()), parent.data());
    builder.build(criterion, Span<const row_t>(left_rows.data(), left_rows.size()), left.data());
    builder.build(criterion, Span<const row_t>(right_rows.data(), right_rows.size()), right.data());
    builder.subtract(parent.data(), left.data(), GradientCriterion::kChannels);
    std::int64_t worst = 0;
    for (std::size_t s = 0; s < size; ++s) {
      const std::int64_t diff = parent[s] - right[s];
      worst = std::max<std::int64_t>(worst, diff < 0 ? -diff : diff);
    }
    return worst;
  });
  t.def("find_best_split", [](const BinnedMatrix& X, const py::object& grad, const py::object& hess,
                              const TreeConfig& config) {
    const auto gh = grad_pairs(grad, hess);
    const Span<const GradPair> g(gh.data(), gh.size());
    const auto rows = rows_or_all(X, py::none());
    const Span<const row_t> r(rows.data(), rows.size());
    const GradientCriterion criterion(g, GradScale::fit(g, {}, 1), config);
    constexpr int kStride = GradientCriterion::kChannels;
    std::vector<std::int64_t> hist(static_cast<std::size_t>(X.n_hist_slots()) * kStride);
    HistogramBuilder(X, 1).build(criterion, r, hist.data());
    Sums total(kStride, 0);
    for (int s = X.hist_offset[0]; s < X.hist_offset[1]; ++s)
      for (int c = 0; c < kStride; ++c) total[c] += hist[static_cast<std::size_t>(s) * kStride + c];
    std::vector<int> features(X.n_features);
    for (int f = 0; f < X.n_features; ++f) features[f] = f;
    const SplitFinder<GradientCriterion> finder(X, criterion);
    const SplitInfo s = finder.find(hist.data(), total.data(), features);
    py::dict d;
    d["feature"] = s.feature;
    d["bin"] = s.bin;
    d["default_left"] = s.default_left;
    d["gain"] = s.gain;
    const Sums left = s.is_valid() ? finder.left_sums(hist.data(), s) : Sums(kStride, 0);
    d["left_count"] = s.is_valid() ? criterion.count(left.data()) : 0;
    d["right_count"] = s.is_valid() ? criterion.count(total.data()) - criterion.count(left.data()) : 0;
    return d;
  });
  t.def("partition", [](const BinnedMatrix& X, const py::object& rows, int feature, int bin, bool default_left,
                        int n_threads) {
    check(feature >= 0 && feature < X.n_features, "feature out of range");
    auto row_list = row_vector(rows);
    for (row_t r : row_list) check(r < X.n_rows, "row out of range");
    RowPartition partition;
    partition.reset(X.n_rows, Span<const row_t>(row_list.data(), row_list.size()));
    const std::size_t n = partition.indices().size();
    const std::size_t mid = partition.split(0, n, X, feature, bin, default_left, n_threads);
    const auto& idx = partition.indices();
    return py::make_tuple(to_numpy(std::vector<row_t>(idx.begin(), idx.begin() + mid)),
                          to_numpy(std::vector<row_t>(idx.begin() + mid, idx.end())));
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
                        const py::object& weight) {
    TrainData data{to_vector(y, "y"), to_vector(weight, "sample_weight"), {}, {}};
    const auto m = to_vector(margin, "margin");
    check(m.size() == data.y.size() * n_outputs, "margin must have n_rows * n_outputs values (output-major)");
    auto obj = make_objective(objective, n_outputs);
    obj->check_labels(data);
    std::vector<GradPair> gh(m.size());
    obj->gradients(data, Span<const double>(m.data(), m.size()), Span<GradPair>(gh.data(), gh.size()), 1);
    std::vector<double> g(gh.size()), h(gh.size());
    for (std::size_t i = 0; i < gh.size(); ++i) {
      g[i] = gh[i].grad;
      h[i] = gh[i].hess;
    }
    return py::make_tuple(to_numpy(g), to_numpy(h), obj->loss(data, Span<const double>(m.data(), m.size()), 1));
  }, py::arg("objective"), py::arg("n_outputs"), py::arg("y"), py::arg("margin"), py::arg("sample_weight") = py::none());
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "treeforge C++ core";
  m.attr("MODEL_FORMAT_VERSION") = kModelFormatVersion;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<BinnedMatrix, std::shared_ptr<BinnedMatrix>>(m, "BinnedData")
      .def_property_readonly("n_samples", [](const BinnedMatrix& b) { return b.n_rows; })
      .def_property_readonly("n_features", [](const BinnedMatrix& b) { return b.n_features; })
      .def_property_readonly("n_groups", [](const BinnedMatrix& b) { return b.n_groups; })
      .def("codes", [](const BinnedMatrix& b) {
        py::array_t<std::uint8_t> out({b.n_rows, static_cast<std::size_t>(b.n_features)});
        b.copy_rows(0, b.n_rows, out.mutable_data());
        return out;
      });

  py::class_<BinMapper, std::shared_ptr<BinMapper>>(m, "BinMapper")
      .def(py::init<int, std::size_t, std::uint64_t>(), py::arg("max_bins") = 255, py::arg("subsample") = 200000,
           py::arg("seed") = 0)
      // rows: the rows of X to use, in order (None: all), so that a part of X needs no copy.
      .def("fit", [](std::shared_ptr<BinMapper> self, const py::array& X, int n_threads, const py::object& rows) {
            const std::vector<row_t> given = listed_rows(rows);
            const Span<const row_t> r(given.data(), given.size());
            with_matrix(X, [&](auto view) { self->fit(view, r, n_threads); return 0; });
            return self;
          }, py::arg("X"), py::arg("n_threads") = 1, py::arg("rows") = py::none())
      .def("transform", [](const BinMapper& self, const py::array& X, int n_threads, const py::object& rows) {
            const std::vector<row_t> given = listed_rows(rows);
            const Span<const row_t> r(given.data(), given.size());
            return with_matrix(X, [&](auto view) { return std::make_shared<BinnedMatrix>(self.transform(view, r, n_threads)); });
          }, py::arg("X"), py::arg("n_threads") = 1, py::arg("rows") = py::none())
      .def_property_readonly("n_features", &BinMapper::n_features)
      .def_property_readonly("max_bins", &BinMapper::max_bins)
      .def_property_readonly("n_bins", [](const BinMapper& b) {
        std::vector<std::int32_t> n(b.n_features());
        for (int f = 0; f < b.n_features(); ++f) n[f] = b.n_bins(f);
        return to_numpy(n);
      })
      .def_property_readonly("bin_edges", [](const BinMapper& b) {
        py::list out;
        for (int f = 0; f < b.n_features(); ++f) out.append(to_numpy(b.edges(f)));
        return out;
      });

  py::class_<TreeConfig>(m, "TreeConfig")
      .def(py::init<>())
      .def_readwrite("max_leaf_nodes", &TreeConfig::max_leaf_nodes)
      .def_readwrite("max_depth", &TreeConfig::max_depth)
      .def_readwrite("min_samples_leaf", &TreeConfig::min_samples_leaf)
      .def_readwrite("min_samples_split", &TreeConfig::min_samples_split)
      .def_readwrite("min_child_weight", &TreeConfig::min_child_weight)
      .def_readwrite("l2_regularization", &TreeConfig::l2_regularization)
      .def_readwrite("l1_regularization", &TreeConfig::l1_regularization)
      .def_readwrite("min_split_gain", &TreeConfig::min_split_gain)
      .def_readwrite("max_features", &TreeConfig::max_features)
      .def("validate", &TreeConfig::validate);

  // GbdtConfig is flat on the Python side: tree parameters read and write config.tree.
  py::class_<GbdtConfig> gbdt_config(m, "GbdtConfig");
  gbdt_config.def(py::init<>())
      .def_readwrite("objective", &GbdtConfig::objective)
      .def_readwrite("n_outputs", &GbdtConfig::n_outputs)
      .def_readwrite("learning_rate", &GbdtConfig::learning_rate)
      .def_readwrite("subsample", &GbdtConfig::subsample)
      .def_readwrite("colsample_bytree", &GbdtConfig::colsample_bytree)
      .def_readwrite("seed", &GbdtConfig::seed)
      .def_readwrite("n_threads", &GbdtConfig::n_threads)
      .def_property("grow_policy",
                    [](const GbdtConfig& c) { return grow_policy_name(c.tree.grow_policy); },
                    [](GbdtConfig& c, const std::string& v) { c.tree.grow_policy = parse_grow_policy(v); })
      .def("validate", &GbdtConfig::validate);
  tree_field(gbdt_config, "max_leaf_nodes", &TreeConfig::max_leaf_nodes);
  tree_field(gbdt_config, "max_depth", &TreeConfig::max_depth);
  tree_field(gbdt_config, "min_samples_leaf", &TreeConfig::min_samples_leaf);
  tree_field(gbdt_config, "min_child_weight", &TreeConfig::min_child_weight);
  tree_field(gbdt_config, "l2_regularization", &TreeConfig::l2_regularization);
  tree_field(gbdt_config, "l1_regularization", &TreeConfig::l1_regularization);
  tree_field(gbdt_config, "min_split_gain", &TreeConfig::min_split_gain);
  tree_field(gbdt_config, "max_features", &TreeConfig::max_features);

  py::class_<ForestConfig> forest_config(m, "ForestConfig");
  forest_config.def(py::init<>())
      .def_readwrite("n_classes", &ForestConfig::n_classes)
      .def_readwrite("bootstrap", &ForestConfig::bootstrap)
      .def_readwrite("with_replacement", &ForestConfig::with_replacement)
      .def_readwrite("n_samples_bootstrap", &ForestConfig::n_samples_bootstrap)
      .def_readwrite("max_features", &ForestConfig::max_features)
      .def_readwrite("min_weight_fraction_leaf", &ForestConfig::min_weight_fraction_leaf)
      .def_readwrite("min_impurity_decrease", &ForestConfig::min_impurity_decrease)
      .def_readwrite("balanced_subsample", &ForestConfig::balanced_subsample)
      .def_readwrite("seed", &ForestConfig::seed)
      .def_readwrite("n_threads", &ForestConfig::n_threads)
      .def("validate", &ForestConfig::validate);
  criterion_field(forest_config);

  py::class_<AdaBoostConfig> adaboost_config(m, "AdaBoostConfig");
  adaboost_config.def(py::init<>())
      .def_readwrite("n_classes", &AdaBoostConfig::n_classes)
      .def_readwrite("loss", &AdaBoostConfig::loss)
      .def_readwrite("n_estimators", &AdaBoostConfig::n_estimators)
      .def_readwrite("learning_rate", &AdaBoostConfig::learning_rate)
      .def_readwrite("resample", &AdaBoostConfig::resample)
      .def_readwrite("seed", &AdaBoostConfig::seed)
      .def_readwrite("n_threads", &AdaBoostConfig::n_threads)
      .def("validate", &AdaBoostConfig::validate);
  criterion_field(adaboost_config);
  tree_shape_fields(forest_config);
  tree_shape_fields(adaboost_config);

  py::class_<Model, std::shared_ptr<Model>>(m, "Model")
      .def_property_readonly("n_features", &Model::n_features)
      .def_property_readonly("n_outputs", &Model::n_outputs)
      .def_property_readonly("n_iter", &Model::n_iter)
      .def_property_readonly("n_trees", &Model::n_trees)
      .def_property_readonly("objective", &Model::objective)
      .def_property_readonly("bin_mapper", [](const Model& model) { return std::make_shared<BinMapper>(*model.bin_mapper()); })
      .def("predict_margin", [](const Model& model, const py::array& X, int n_threads, int iter_begin, int iter_end) {
            check(X.ndim() == 2, "X must be a 2-D array");
            py::array_t<double> out({static_cast<std::size_t>(X.shape(0)), static_cast<std::size_t>(model.n_outputs())});
            Span<double> o(out.mutable_data(), static_cast<std::size_t>(out.size()));
            with_matrix(X, [&](auto view) { model.predict_margin(view, iter_begin, iter_end, o, n_threads); return 0; });
            return out;
          }, py::arg("X"), py::arg("n_threads") = 1, py::arg("iter_begin") = 0, py::arg("iter_end") = -1)
      .def("predict_leaf", [](const Model& model, const py::array& X, int n_threads) {
            check(X.ndim() == 2, "X must be a 2-D array");
            py::array_t<std::int32_t> out({static_cast<std::size_t>(X.shape(0)), static_cast<std::size_t>(model.n_trees())});
            Span<std::int32_t> o(out.mutable_data(), static_cast<std::size_t>(out.size()));
            with_matrix(X, [&](auto view) { model.predict_leaf(view, o, n_threads); return 0; });
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

  py::class_<GbdtTrainer>(m, "Booster")
      .def(py::init([](const GbdtConfig& config, const BinMapper& mapper, std::shared_ptr<BinnedMatrix> train,
                       const py::object& y, const py::object& sample_weight, std::shared_ptr<BinnedMatrix> valid,
                       const py::object& y_valid, const py::object& sample_weight_valid, const Model* init_model,
                       const py::object& base_margin, const py::object& base_margin_valid,
                       const py::object& group_begin) {
             check(train != nullptr, "train must be a BinnedData");
             TrainData train_data{to_vector(y, "y"), to_vector(sample_weight, "sample_weight"),
                                  to_vector(base_margin, "base_margin"), int64_vector(group_begin, "group_begin")};
             TrainData valid_data{to_vector(y_valid, "y_valid"), to_vector(sample_weight_valid, "sample_weight_valid"),
                                  to_vector(base_margin_valid, "base_margin_valid"), {}};
             py::gil_scoped_release nogil;
             return std::make_unique<GbdtTrainer>(config, std::make_shared<const BinMapper>(mapper), train,
                                                  std::move(train_data), valid, std::move(valid_data), init_model);
           }),
           py::arg("config"), py::arg("bin_mapper"), py::arg("train"), py::arg("y"), py::arg("sample_weight") = py::none(),
           py::arg("valid") = nullptr, py::arg("y_valid") = py::none(), py::arg("sample_weight_valid") = py::none(),
           py::arg("init_model") = nullptr, py::arg("base_margin") = py::none(),
           py::arg("base_margin_valid") = py::none(), py::arg("group_begin") = py::none())
      .def("update", &GbdtTrainer::update, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("n_iter", &GbdtTrainer::n_iter)
      .def("train_loss", &GbdtTrainer::train_loss, py::call_guard<py::gil_scoped_release>())
      .def("valid_loss", &GbdtTrainer::valid_loss, py::call_guard<py::gil_scoped_release>())
      .def("train_margin", [](const GbdtTrainer& t) {
        const auto& m = t.train_margin();
        return margin_rows(m, m.size() / t.n_outputs(), t.n_outputs());
      })
      .def("valid_margin", [](const GbdtTrainer& t) {
        check(t.has_valid(), "no validation data was given");
        const auto& m = t.valid_margin();
        return margin_rows(m, m.size() / t.n_outputs(), t.n_outputs());
      })
      .def("model", [](const GbdtTrainer& t) { return std::make_shared<Model>(t.model()); })
      .def("finish", [](GbdtTrainer& t) { return std::make_shared<Model>(t.finish()); });

  py::class_<ForestTrainer>(m, "ForestTrainer")
      .def(py::init([](const ForestConfig& config, const BinMapper& mapper, std::shared_ptr<BinnedMatrix> train,
                       const py::object& y, const py::object& classes, const py::object& sample_weight,
                       const Model* init_model) {
             check(train != nullptr, "train must be a BinnedData");
             TrainData data = ensemble_data(y, classes, sample_weight);
             py::gil_scoped_release nogil;
             return std::make_unique<ForestTrainer>(config, std::make_shared<const BinMapper>(mapper), train,
                                                    std::move(data), init_model);
           }),
           py::arg("config"), py::arg("bin_mapper"), py::arg("train"), py::arg("y") = py::none(),
           py::arg("classes") = py::none(), py::arg("sample_weight") = py::none(), py::arg("init_model") = nullptr)
      .def("grow", &ForestTrainer::grow, py::arg("n_trees"), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("n_trees", &ForestTrainer::n_trees)
      .def("bag_counts", [](const ForestTrainer& t, int tree) {
        py::array_t<std::uint32_t> out(t.n_rows());
        Span<std::uint32_t> counts(out.mutable_data(), t.n_rows());
        { py::gil_scoped_release nogil; t.bag_counts(tree, counts); }
        return out;
      }, py::arg("tree"))
      .def("oob_sums", [](const ForestTrainer& t) {
        py::array_t<double> sums({t.n_rows(), static_cast<std::size_t>(t.n_outputs())});
        py::array_t<std::int32_t> n_trees(t.n_rows());
        Span<double> s(sums.mutable_data(), static_cast<std::size_t>(sums.size()));
        Span<std::int32_t> c(n_trees.mutable_data(), t.n_rows());
        { py::gil_scoped_release nogil; t.oob_sums(s, c); }
        return py::make_tuple(sums, n_trees);
      })
      .def("model", [](const ForestTrainer& t) { return std::make_shared<Model>(t.model()); });

  py::class_<AdaBoostTrainer>(m, "AdaBoostTrainer")
      .def(py::init([](const AdaBoostConfig& config, const BinMapper& mapper, std::shared_ptr<BinnedMatrix> train,
                       const py::object& y, const py::object& classes, const py::object& sample_weight) {
             check(train != nullptr, "train must be a BinnedData");
             TrainData data = ensemble_data(y, classes, sample_weight);
             py::gil_scoped_release nogil;
             return std::make_unique<AdaBoostTrainer>(config, std::make_shared<const BinMapper>(mapper), train,
                                                      std::move(data));
           }),
           py::arg("config"), py::arg("bin_mapper"), py::arg("train"), py::arg("y") = py::none(),
           py::arg("classes") = py::none(), py::arg("sample_weight") = py::none())
      .def("fit", &AdaBoostTrainer::fit, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("n_trees", &AdaBoostTrainer::n_trees)
      .def_property_readonly("estimator_weights", [](const AdaBoostTrainer& t) { return to_numpy(t.estimator_weights()); })
      .def_property_readonly("estimator_errors", [](const AdaBoostTrainer& t) { return to_numpy(t.estimator_errors()); })
      .def_property_readonly("stop_reason", [](const AdaBoostTrainer& t) {
        switch (t.stop_reason()) {
          case AdaBoostStop::kCompleted: return "completed";
          case AdaBoostStop::kPerfect: return "perfect";
          case AdaBoostStop::kWorseThanChance: return "worse_than_chance";
          case AdaBoostStop::kWeightOverflow: return "weight_overflow";
          case AdaBoostStop::kZeroWeights: return "zero_weights";
        }
        return "";
      })
      .def("model", [](const AdaBoostTrainer& t) { return std::make_shared<Model>(t.model()); });

  m.def("forest_bag_counts", [](const ForestConfig& config, std::int64_t n_rows, const py::object& sample_weight,
                                int tree) {
    check(n_rows >= 1 && tree >= 0, "n_rows must be >= 1 and tree >= 0");
    const std::vector<double> w = to_vector(sample_weight, "sample_weight");
    py::array_t<std::uint32_t> out(n_rows);
    Span<std::uint32_t> counts(out.mutable_data(), static_cast<std::size_t>(n_rows));
    {
      py::gil_scoped_release nogil;
      draw_bag_counts(config, Span<const double>(w.data(), w.size()), nullptr, static_cast<std::size_t>(tree), counts);
    }
    return out;
  }, py::arg("config"), py::arg("n_rows"), py::arg("sample_weight"), py::arg("tree"));

  m.def("sample_weighted", [](const py::object& weights, std::int64_t n_draws, std::uint64_t seed, bool replace) {
    const std::vector<double> w = to_vector(weights, "weights");
    check(n_draws >= 0, "n_draws must be >= 0");
    py::array_t<std::uint32_t> out(w.size());
    Span<std::uint32_t> counts(out.mutable_data(), w.size());
    {
      py::gil_scoped_release nogil;
      Rng rng(seed);
      if (replace) {
        const AliasTable table(Span<const double>(w.data(), w.size()));
        draw_weighted_counts(table, static_cast<std::size_t>(n_draws), rng, counts);
      } else {
        draw_subsample_counts(static_cast<std::size_t>(n_draws), Span<const double>(w.data(), w.size()), rng, counts);
      }
    }
    return out;
  }, py::arg("weights"), py::arg("n_draws"), py::arg("seed"), py::arg("replace") = true);

  m.def("max_threads", &max_threads,
        "Threads OpenMP would use by default: honours OMP_NUM_THREADS and threadpoolctl limits (1 without OpenMP).");

  m.def("apply_link", [](const std::string& objective, const py::array& margin) {
    auto a = DoubleArray::ensure(margin);
    check(a && a.ndim() == 2, "margin must be a 2-D (n_samples, n_outputs) array");
    auto obj = make_objective(objective, static_cast<int>(a.shape(1)));
    py::array_t<double> out({a.shape(0), a.shape(1)});
    std::copy(a.data(), a.data() + a.size(), out.mutable_data());
    obj->inverse_link(Span<double>(out.mutable_data(), static_cast<std::size_t>(out.size())));
    return out;
  }, py::arg("objective"), py::arg("margin"));

  bind_testing(m);
}
