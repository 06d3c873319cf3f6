// The objective name registry.
#include "objectives/objective.hpp"

namespace treeforge {

std::unique_ptr<Objective> make_objective(const std::string& name, int n_outputs) {
  if (name == "multiclass_softmax") {
    check(n_outputs >= 2, "multiclass_softmax needs n_outputs >= 2 (one per class)");
    return make_multiclass_softmax(n_outputs);
  }
  check(n_outputs == 1, "objective '", name, "' has one output, got n_outputs=", n_outputs);
  if (name == "squared_error") return make_squared_error();
  if (name == "binary_logloss") return make_binary_logloss();
  if (name == "poisson") return make_poisson();
  if (name == "gamma") return make_gamma();
  throw std::invalid_argument("unknown objective '" + name +
                              "'; expected squared_error, binary_logloss, multiclass_softmax, poisson or gamma");
}

GradientProbe probe_gradients(const std::string& name, int n_outputs, const TrainData& data,
                              const std::vector<double>& margin) {
  check(margin.size() == data.y.size() * n_outputs, "margin must have n_rows * n_outputs values (output-major)");
  const auto objective = make_objective(name, n_outputs);
  objective->check_labels(data);
  std::vector<GradPair> gh(margin.size());
  const Span<const double> m(margin.data(), margin.size());
  objective->gradients(data, m, Span<GradPair>(gh.data(), gh.size()), 1);
  GradientProbe probe;
  for (const GradPair& p : gh) {
    probe.grad.push_back(p.grad);
    probe.hess.push_back(p.hess);
  }
  probe.loss = objective->loss(data, m, 1);
  return probe;
}

}  // namespace treeforge
