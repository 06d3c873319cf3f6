// The learners' configs as flat Python attributes (tree parameters read and write config.tree).
#include <pybind11/stl.h>

#include "bindings/bind.hpp"
#include "bindings/convert.hpp"
#include "core/config.hpp"

namespace treeforge {

namespace {

/// Exposes config.tree.*field as a flat attribute `name` of a learner's config class.
template <class Config, class T>
void tree_field(py::class_<Config>& cls, const char* name, T TreeConfig::*field) {
  cls.def_property(name, [field](const Config& c) { return c.tree.*field; },
                   [field](Config& c, T v) { c.tree.*field = v; });
}

/// Exposes config.criterion as a string attribute of a learner's config class.
template <class Config>
void criterion_field(py::class_<Config>& cls) {
  cls.def_property("criterion", [](const Config& c) { return std::string(tree_criterion_name(c.criterion)); },
                   [](Config& c, const std::string& v) { c.criterion = parse_tree_criterion(v); });
}

/// Exposes the knobs of categorical (set) splits of config.tree as flat attributes.
template <class Config>
void categorical_fields(py::class_<Config>& cls) {
  tree_field(cls, "cat_smooth", &TreeConfig::cat_smooth);
  tree_field(cls, "cat_l2", &TreeConfig::cat_l2);
  tree_field(cls, "max_cat_threshold", &TreeConfig::max_cat_threshold);
  tree_field(cls, "max_cat_to_onehot", &TreeConfig::max_cat_to_onehot);
  tree_field(cls, "min_data_per_group", &TreeConfig::min_data_per_group);
}

/// Exposes the split constraints of config.tree: monotone (a list of -1/0/1 per feature, or
/// empty) and interaction_groups (a list of lists of feature indices, or empty).
template <class Config>
void constraint_fields(py::class_<Config>& cls) {
  cls.def_property("monotone",
                   [](const Config& c) { return std::vector<int>(c.tree.monotone.begin(), c.tree.monotone.end()); },
                   [](Config& c, const std::vector<int>& v) {
                     for (int m : v) check(m >= -1 && m <= 1, "monotone constraints must be -1, 0 or 1, got ", m);
                     c.tree.monotone.assign(v.begin(), v.end());
                   });
  cls.def_property("interaction_groups", [](const Config& c) { return c.tree.interaction_groups; },
                   [](Config& c, const std::vector<std::vector<int>>& v) { c.tree.interaction_groups = v; });
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
  categorical_fields(cls);
}

void bind_tree_and_gbdt_configs(py::module_& m) {
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
      .def_readwrite("cat_smooth", &TreeConfig::cat_smooth)
      .def_readwrite("cat_l2", &TreeConfig::cat_l2)
      .def_readwrite("max_cat_threshold", &TreeConfig::max_cat_threshold)
      .def_readwrite("max_cat_to_onehot", &TreeConfig::max_cat_to_onehot)
      .def_readwrite("min_data_per_group", &TreeConfig::min_data_per_group)
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
  categorical_fields(gbdt_config);
  constraint_fields(gbdt_config);
}

void bind_ensemble_configs(py::module_& m) {
  py::class_<ForestConfig> forest_config(m, "ForestConfig");
  forest_config.def(py::init<>())
      .def_readwrite("n_classes", &ForestConfig::n_classes)
      .def_readwrite("n_targets", &ForestConfig::n_targets)
      .def_readwrite("bootstrap", &ForestConfig::bootstrap)
      .def_readwrite("with_replacement", &ForestConfig::with_replacement)
      .def_readwrite("n_samples_bootstrap", &ForestConfig::n_samples_bootstrap)
      .def_readwrite("max_features", &ForestConfig::max_features)
      .def_readwrite("min_weight_fraction_leaf", &ForestConfig::min_weight_fraction_leaf)
      .def_readwrite("min_impurity_decrease", &ForestConfig::min_impurity_decrease)
      .def_readwrite("ccp_alpha", &ForestConfig::ccp_alpha)
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
  constraint_fields(forest_config);
  tree_shape_fields(adaboost_config);

}

}  // namespace

void bind_configs(py::module_& m) {
  bind_tree_and_gbdt_configs(m);
  bind_ensemble_configs(m);
}

}  // namespace treeforge
