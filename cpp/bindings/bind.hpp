// The binding of each area of the core to the module _core (one file per area in bindings/).
#pragma once

#include <pybind11/pybind11.h>

namespace treeforge {

void bind_data(pybind11::module_& m);      // data.cpp: BinnedData, BinMapper
void bind_configs(pybind11::module_& m);   // configs.cpp: the learners' configs
void bind_model(pybind11::module_& m);     // model.cpp: Model, MODEL_FORMAT_VERSION, apply_link
void bind_learners(pybind11::module_& m);  // learners.cpp: Booster, ForestTrainer, AdaBoostTrainer, draws
void bind_testing(pybind11::module_& m);   // testing.cpp: the _testing submodule of test-only hooks
void bind_collective(pybind11::module_& m);  // collective.cpp: HistogramReduction, TcpRing

}  // namespace treeforge
