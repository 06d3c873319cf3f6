// The objective name registry.
#include "objectives/objective.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace treeforge {

namespace {

/// The number after "name:" in an objective spec; throws unless it is all of the rest and finite.
double spec_parameter(const std::string& name, std::size_t colon) {
  const std::string text = name.substr(colon + 1);
  char* end = nullptr;
  const double value = text.empty() ? NAN : std::strtod(text.c_str(), &end);
  check(std::isfinite(value) && end == text.c_str() + text.size(), "objective '", name,
        "' needs a finite number after the colon");
  return value;
}

}  // namespace

std::unique_ptr<Objective> make_objective(const std::string& name, int n_outputs) {
  if (name == "multiclass_softmax") {
    check(n_outputs >= 2, "multiclass_softmax needs n_outputs >= 2 (one per class)");
    return make_multiclass_softmax(n_outputs);
  }
  check(n_outputs == 1, "objective '", name, "' has one output, got n_outputs=", n_outputs);
  const std::size_t colon = name.find(':');
  const std::string base = name.substr(0, colon);
  const bool parametric = base == "quantile" || base == "huber" || base == "tweedie" || base == "lambdarank";
  check(!parametric || colon != std::string::npos, "objective '", name, "' needs its parameter: '", name, ":<value>'");
  check(parametric || colon == std::string::npos, "objective '", name,
        "': only quantile, huber, tweedie and lambdarank take a parameter");
  if (name == "squared_error") return make_squared_error();
  if (name == "binary_logloss") return make_binary_logloss();
  if (name == "poisson") return make_poisson();
  if (name == "gamma") return make_gamma();
  if (name == "absolute_error") return make_absolute_error();
  if (base == "quantile") return make_quantile(spec_parameter(name, colon));
  if (base == "huber") return make_huber(spec_parameter(name, colon));
  if (base == "tweedie") return make_tweedie(spec_parameter(name, colon));
  if (name == "rank_pairwise") return make_rank_pairwise();
  if (name == "rank_listwise") return make_rank_listwise();
  if (base == "lambdarank") {
    // Written in one way only (no sign, zeros or exponent), as the name the objective reports.
    const std::string digits = name.substr(colon + 1);
    const bool canonical = !digits.empty() && digits.size() <= 7 && digits[0] != '0' &&
                           std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    const long k = canonical ? std::strtol(digits.c_str(), nullptr, 10) : 0;
    check(canonical && k <= 1000000, "objective '", name,
          "': the truncation level after 'lambdarank:' must be an integer from 1 to 1000000");
    return make_lambdarank(static_cast<int>(k));
  }
  throw std::invalid_argument("unknown objective '" + name +
                              "'; expected squared_error, binary_logloss, multiclass_softmax, poisson, gamma, "
                              "absolute_error, quantile:<q>, huber:<delta>, tweedie:<variance power>, lambdarank:<k>, "
                              "rank_pairwise or rank_listwise");
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
