// Booster, ForestTrainer, AdaBoostTrainer and the weighted draws: labels in, GIL released around every long call, models out.
#include <pybind11/stl.h>

#include "bindings/bind.hpp"
#include "bindings/convert.hpp"
#include "bindings/long_call.hpp"
#include "core/parallel.hpp"
#include "core/random.hpp"
#include "learners/adaboost.hpp"
#include "learners/forest.hpp"
#include "learners/gbdt.hpp"
#include "objectives/ranking.hpp"

namespace treeforge {

namespace {

void bind_booster(py::module_& m) {
  py::class_<GbdtTrainer>(m, "Booster")
      .def(py::init([](const GbdtConfig& config, const BinMapper& mapper, std::shared_ptr<BinnedMatrix> train,
                       const py::object& y, const py::object& sample_weight, std::shared_ptr<BinnedMatrix> valid,
                       const py::object& y_valid, const py::object& sample_weight_valid, const Model* init_model,
                       const py::object& base_margin, const py::object& base_margin_valid,
                       const py::object& group_begin, const py::object& group_begin_valid,
                       const py::object& base_score, std::shared_ptr<HistogramReduction> reduction,
                       const py::object& global_rows, std::size_t n_global_rows, const py::object& global_queries,
                       std::size_t n_global_queries) {
             check(train != nullptr, "train must be a BinnedData");
             TrainData train_data{to_vector(y, "y"), to_vector(sample_weight, "sample_weight"),
                                  to_vector(base_margin, "base_margin"), int64_vector(group_begin, "group_begin")};
             TrainData valid_data{to_vector(y_valid, "y_valid"), to_vector(sample_weight_valid, "sample_weight_valid"),
                                  to_vector(base_margin_valid, "base_margin_valid"),
                                  int64_vector(group_begin_valid, "group_begin_valid")};
             std::vector<double> start = to_vector(base_score, "base_score");
             // A distributed fit's participant: its reduction and the global ids of its rows.
             check(!reduction == global_rows.is_none(), "give reduction and global_rows together, or neither");
             DistributedRows distributed{std::move(reduction), int64_vector(global_rows, "global_rows"), n_global_rows,
                                         int64_vector(global_queries, "global_queries"), n_global_queries};
             LongCall long_call;
             return std::make_unique<GbdtTrainer>(config, std::make_shared<const BinMapper>(mapper), train,
                                                  std::move(train_data), valid, std::move(valid_data), init_model,
                                                  std::move(start), std::move(distributed));
           }),
           py::arg("config"), py::arg("bin_mapper"), py::arg("train"), py::arg("y"), py::arg("sample_weight") = py::none(),
           py::arg("valid") = nullptr, py::arg("y_valid") = py::none(), py::arg("sample_weight_valid") = py::none(),
           py::arg("init_model") = nullptr, py::arg("base_margin") = py::none(),
           py::arg("base_margin_valid") = py::none(), py::arg("group_begin") = py::none(),
           py::arg("group_begin_valid") = py::none(), py::arg("base_score") = py::none(),
           py::arg("reduction") = nullptr, py::arg("global_rows") = py::none(), py::arg("n_global_rows") = 0,
           py::arg("global_queries") = py::none(), py::arg("n_global_queries") = 0)
      .def("update", [](GbdtTrainer& t, const py::object& gradient, const py::object& hessian) {
             check(gradient.is_none() == hessian.is_none(), "give both gradient and hessian, or neither");
             if (gradient.is_none()) {
               LongCall long_call;
               return t.update();
             }
             // Output-major like the margins: column k of an (n_rows, n_outputs) array is output k.
             const std::vector<double> g = output_major(gradient, "gradient"), h = output_major(hessian, "hessian");
             LongCall long_call;
             t.update(Span<const double>(g.data(), g.size()), Span<const double>(h.data(), h.size()));
           }, py::arg("gradient") = py::none(), py::arg("hessian") = py::none(),
           "Grow one iteration, on the objective's gradients or on the given gradient and hessian arrays "
           "((n_rows,) or (n_rows, n_outputs)).")
      .def("set_learning_rate", &GbdtTrainer::set_learning_rate, py::arg("learning_rate"))
      .def_property_readonly("n_iter", &GbdtTrainer::n_iter)
      .def("train_loss", &GbdtTrainer::train_loss, py::call_guard<LongCall>())
      .def("valid_loss", &GbdtTrainer::valid_loss, py::call_guard<LongCall>())
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
}

void bind_base_score(py::module_& m) {
  // A distributed fit gives its global weighted mean of y as a one-row y: the objective's
  // starting margin from it is the single-machine one to the bit.
  m.def("objective_base_score", [](const std::string& objective, int n_outputs, const py::object& y,
                                   const py::object& sample_weight) {
        const TrainData data{to_vector(y, "y"), to_vector(sample_weight, "sample_weight"), {}, {}};
        return make_objective(objective, n_outputs)->base_score(data);
      }, py::arg("objective"), py::arg("n_outputs"), py::arg("y"), py::arg("sample_weight") = py::none(),
      "The objective's base score (one starting margin per output) of the labels and weights.");
}

void bind_forest(py::module_& m) {
  py::class_<ForestTrainer>(m, "ForestTrainer")
      .def(py::init([](const ForestConfig& config, const BinMapper& mapper, std::shared_ptr<BinnedMatrix> train,
                       const py::object& y, const py::object& classes, const py::object& sample_weight,
                       const Model* init_model, std::shared_ptr<HistogramReduction> reduction,
                       const py::object& global_rows, std::size_t n_global_rows, const py::object& sampling_weights) {
             check(train != nullptr, "train must be a BinnedData");
             TrainData data = ensemble_data(y, classes, sample_weight);
             // A distributed fit's participant: its reduction, the global ids of its rows, every row's weight.
             check(!reduction == global_rows.is_none(), "give reduction and global_rows together, or neither");
             DistributedRows distributed{std::move(reduction), int64_vector(global_rows, "global_rows"), n_global_rows};
             std::vector<double> all_weights = to_vector(sampling_weights, "sampling_weights");
             LongCall long_call;
             return std::make_unique<ForestTrainer>(config, std::make_shared<const BinMapper>(mapper), train,
                                                    std::move(data), init_model, std::move(distributed),
                                                    std::move(all_weights));
           }),
           py::arg("config"), py::arg("bin_mapper"), py::arg("train"), py::arg("y") = py::none(),
           py::arg("classes") = py::none(), py::arg("sample_weight") = py::none(), py::arg("init_model") = nullptr,
           py::arg("reduction") = nullptr, py::arg("global_rows") = py::none(), py::arg("n_global_rows") = 0,
           py::arg("sampling_weights") = py::none())
      .def("grow", &ForestTrainer::grow, py::arg("n_trees"), py::call_guard<LongCall>())
      .def_property_readonly("n_trees", &ForestTrainer::n_trees)
      .def("bag_counts", [](const ForestTrainer& t, int tree) {
        py::array_t<std::uint32_t> out(t.n_rows());
        Span<std::uint32_t> counts(out.mutable_data(), t.n_rows());
        { LongCall long_call; t.bag_counts(tree, counts); }
        return out;
      }, py::arg("tree"))
      .def("oob_sums", [](const ForestTrainer& t) {
        py::array_t<double> sums({t.n_rows(), static_cast<std::size_t>(t.n_outputs())});
        py::array_t<std::int32_t> n_trees(t.n_rows());
        Span<double> s(sums.mutable_data(), static_cast<std::size_t>(sums.size()));
        Span<std::int32_t> c(n_trees.mutable_data(), t.n_rows());
        { LongCall long_call; t.oob_sums(s, c); }
        return py::make_tuple(sums, n_trees);
      })
      .def("model", [](const ForestTrainer& t) { return std::make_shared<Model>(t.model()); });
}

void bind_adaboost(py::module_& m) {
  py::class_<AdaBoostTrainer>(m, "AdaBoostTrainer")
      .def(py::init([](const AdaBoostConfig& config, const BinMapper& mapper, std::shared_ptr<BinnedMatrix> train,
                       const py::object& y, const py::object& classes, const py::object& sample_weight) {
             check(train != nullptr, "train must be a BinnedData");
             TrainData data = ensemble_data(y, classes, sample_weight);
             LongCall long_call;
             return std::make_unique<AdaBoostTrainer>(config, std::make_shared<const BinMapper>(mapper), train,
                                                      std::move(data));
           }),
           py::arg("config"), py::arg("bin_mapper"), py::arg("train"), py::arg("y") = py::none(),
           py::arg("classes") = py::none(), py::arg("sample_weight") = py::none())
      .def("fit", &AdaBoostTrainer::fit, py::call_guard<LongCall>())
      .def("fit_rounds", &AdaBoostTrainer::fit_rounds, py::arg("n_rounds"), py::call_guard<LongCall>())
      .def_property_readonly("n_trees", &AdaBoostTrainer::n_trees)
      .def_property_readonly("estimator_weights", [](const AdaBoostTrainer& t) { return to_numpy(t.estimator_weights()); })
      .def_property_readonly("estimator_errors", [](const AdaBoostTrainer& t) { return to_numpy(t.estimator_errors()); })
      .def_property_readonly("stop_reason", [](const AdaBoostTrainer& t) { return adaboost_stop_name(t.stop_reason()); })
      .def("model", [](const AdaBoostTrainer& t) { return std::make_shared<Model>(t.model()); });
}

void bind_draws(py::module_& m) {
  m.def("forest_bag_counts", [](const ForestConfig& config, std::int64_t n_rows, const py::object& sample_weight,
                                int tree) {
    check(n_rows >= 1 && tree >= 0, "n_rows must be >= 1 and tree >= 0");
    const std::vector<double> w = to_vector(sample_weight, "sample_weight");
    py::array_t<std::uint32_t> out(n_rows);
    Span<std::uint32_t> counts(out.mutable_data(), static_cast<std::size_t>(n_rows));
    {
      LongCall long_call;
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
      LongCall long_call;
      draw_counts_by_weight(Span<const double>(w.data(), w.size()), static_cast<std::size_t>(n_draws), seed, replace,
                            counts);
    }
    return out;
  }, py::arg("weights"), py::arg("n_draws"), py::arg("seed"), py::arg("replace") = true);

  m.def("ranking_metric", [](const std::string& metric, int k, const py::object& y, const py::object& score,
                             const py::object& group_begin, const py::object& sample_weight, int n_threads) {
    const TrainData data{to_vector(y, "y"), to_vector(sample_weight, "sample_weight"), {},
                         int64_vector(group_begin, "group_begin")};
    const std::vector<double> s = to_vector(score, "score");
    data.validate(s.size(), 1, "ranking_metric");
    LongCall long_call;
    return ranking_metric(metric, k, data, s.data(), n_threads);
  }, py::arg("metric"), py::arg("k"), py::arg("y"), py::arg("score"), py::arg("group_begin"),
     py::arg("sample_weight") = py::none(), py::arg("n_threads") = 1,
     "NDCG@k ('ndcg') or MAP@k ('map') of scores against relevance labels, the mean over query groups "
     "weighted by the queries' weights; k <= 0 means every position.");
  m.def("max_threads", &max_threads,
        "Threads OpenMP would use by default: honours OMP_NUM_THREADS and threadpoolctl limits (1 without OpenMP).");

}

}  // namespace

void bind_learners(py::module_& m) {
  bind_booster(m);
  bind_base_score(m);
  bind_forest(m);
  bind_adaboost(m);
  bind_draws(m);
}

}  // namespace treeforge
