// AdaBoostTrainer: the boosting rounds, SAMME and R2 errors, estimator weights and sample-weight updates.
#include "learners/adaboost.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/random.hpp"

namespace treeforge {

namespace {

constexpr std::uint64_t kDrawStream = 0x64726177;  // "draw"
constexpr std::uint64_t kTreeStream = 0x74726565;  // "tree"

}  // namespace

AdaBoostTrainer::AdaBoostTrainer(const AdaBoostConfig& config, std::shared_ptr<const BinMapper> mapper,
                                 std::shared_ptr<const BinnedMatrix> train, TrainData data)
    : config_(config), mapper_(std::move(mapper)), train_(std::move(train)), data_(std::move(data)) {
  config_.validate();
  classes_ = check_tree_data(train_.get(), *mapper_, data_, config_.criterion, config_.n_classes);
  const std::size_t n = train_->n_rows;
  sample_weight_.resize(n);
  is_zero_.resize(n);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) total += data_.weight_of(i);
  for (std::size_t i = 0; i < n; ++i) {
    sample_weight_[i] = data_.weight_of(i) / total;
    is_zero_[i] = sample_weight_[i] == 0.0;
  }
  estimator_weights_.assign(config_.n_estimators, 0.0);
  estimator_errors_.assign(config_.n_estimators, 1.0);
}

void AdaBoostTrainer::fit() {
  while (fit_rounds(config_.n_estimators)) {
  }
}

bool AdaBoostTrainer::fit_rounds(int n_rounds) {
  if (!fitter_) {
    fitter_ = std::make_unique<TreeFitter>(*train_, *mapper_, config_.tree, config_.criterion, config_.n_classes, 0,
                                           config_.n_threads);
    stop_ = AdaBoostStop::kCompleted;
  }
  for (int done = 0; done < n_rounds && !finished_; ++done) {
    // A round interrupted inside its tree leaves next_round_ as it was; the weights it clipped
    // are clipped again, to the same values, when it runs again.
    const int m = next_round_;
    finished_ = !round(m, *fitter_) || m + 1 == config_.n_estimators;
    next_round_ = m + 1;
  }
  if (finished_) fitter_.reset();  // its scratch is O(n_rows)
  return !finished_;
}

double AdaBoostTrainer::samme_error(const Tree& tree, const std::vector<std::int32_t>& leaf,
                                    std::vector<int>& node_class, std::vector<std::uint8_t>& incorrect) const {
  const int k = config_.n_classes;
  node_class.assign(tree.n_nodes(), 0);
  for (int node = 0; node < tree.n_nodes(); ++node) {
    const double* p = tree.value.data() + static_cast<std::size_t>(node) * k;
    node_class[node] = static_cast<int>(std::max_element(p, p + k) - p);  // first maximum, as argmax
  }
  double wrong = 0, total = 0;
  for (std::size_t i = 0; i < leaf.size(); ++i) {
    incorrect[i] = node_class[leaf[i]] != classes_[i];
    wrong += incorrect[i] ? sample_weight_[i] : 0.0;
    total += sample_weight_[i];
  }
  return wrong / total;
}

double AdaBoostTrainer::r2_error(const Tree& tree, const std::vector<std::int32_t>& leaf,
                                 std::vector<double>& err) const {
  double err_max = 0;
  for (std::size_t i = 0; i < leaf.size(); ++i) {
    err[i] = std::fabs(tree.value[leaf[i]] - data_.y[i]);
    if (sample_weight_[i] > 0) err_max = std::max(err_max, err[i]);
  }
  double error = 0;
  for (std::size_t i = 0; i < leaf.size(); ++i) {
    if (!(sample_weight_[i] > 0)) continue;
    double e = err_max != 0 ? err[i] / err_max : err[i];
    if (config_.loss == "square") {
      e *= e;
    } else if (config_.loss == "exponential") {
      e = 1.0 - std::exp(-e);
    }
    err[i] = e;
    error += sample_weight_[i] * e;
  }
  return error;
}

Tree AdaBoostTrainer::fit_round_tree(int m, TreeFitter& fitter) {
  const std::size_t n = train_->n_rows;
  // scikit-learn clips D from below by the machine epsilon each round, except rows that started at 0.
  const double epsilon = std::numeric_limits<double>::epsilon();
  for (std::size_t i = 0; i < n; ++i) sample_weight_[i] = is_zero_[i] ? 0.0 : std::max(sample_weight_[i], epsilon);
  std::vector<double> fit_weights;
  Span<const double> weights(sample_weight_.data(), n);
  if (config_.resample) {
    // T_m: n rows drawn from D_m with replacement; the tree sees each drawn row once per draw.
    const AliasTable table(weights);
    std::vector<std::uint32_t> counts(n);
    Rng rng(derive_seed(config_.seed, static_cast<std::uint64_t>(m), kDrawStream));
    draw_weighted_counts(table, n, rng, Span<std::uint32_t>(counts.data(), n));
    fit_weights.assign(counts.begin(), counts.end());
    weights = Span<const double>(fit_weights.data(), n);
  }
  return fitter.fit(data_, Span<const std::int32_t>(classes_.data(), classes_.size()), weights, TreeLimits{},
                    derive_seed(config_.seed, static_cast<std::uint64_t>(m), kTreeStream));
}

bool AdaBoostTrainer::samme_update(Tree& tree, const std::vector<std::int32_t>& leaf, bool last, double& alpha,
                                   double& error) {
  const int k = config_.n_classes;
  std::vector<int> node_class;
  std::vector<std::uint8_t> incorrect(leaf.size());
  error = samme_error(tree, leaf, node_class, incorrect);
  alpha = 1.0;
  if (error > 0) {
    if (error >= 1.0 - 1.0 / k) {
      check(!trees_.empty(), "BaseClassifier in AdaBoostClassifier ensemble is worse than random, ensemble can not be fit.");
      stop_ = AdaBoostStop::kWorseThanChance;
      return false;
    }
    alpha = config_.learning_rate * (std::log((1.0 - error) / error) + std::log(k - 1.0));
    // scikit-learn writes exp(log(D_i) + alpha); one factor per round is the same up to rounding.
    const double factor = std::exp(alpha);
    if (!last)
      for (std::size_t i = 0; i < leaf.size(); ++i)
        if (incorrect[i] && sample_weight_[i] > 0) sample_weight_[i] *= factor;
  }
  // Every node holds the tree's SAMME vote: alpha at its class, -alpha / (K - 1) elsewhere.
  for (int node = 0; node < tree.n_nodes(); ++node)
    for (int c = 0; c < k; ++c)
      tree.value[static_cast<std::size_t>(node) * k + c] = c == node_class[node] ? alpha : -alpha / (k - 1);
  return true;
}

bool AdaBoostTrainer::r2_update(Tree& tree, const std::vector<std::int32_t>& leaf, bool last, double& alpha,
                                double& error) {
  std::vector<double> err(leaf.size());
  error = r2_error(tree, leaf, err);
  alpha = 1.0;
  if (error <= 0) return true;
  if (error >= 0.5) {
    // scikit-learn keeps a first tree (with weight 0) and drops any later one.
    if (trees_.empty()) {
      trees_.push_back(std::move(tree));
      tree_weights_.push_back(0.0);
    }
    stop_ = AdaBoostStop::kWorseThanChance;
    return false;
  }
  const double beta = error / (1.0 - error);
  alpha = config_.learning_rate * std::log(1.0 / beta);
  if (!last)
    for (std::size_t i = 0; i < leaf.size(); ++i)
      if (sample_weight_[i] > 0) sample_weight_[i] *= std::pow(beta, (1.0 - err[i]) * config_.learning_rate);
  return true;
}

bool AdaBoostTrainer::round(int m, TreeFitter& fitter) {
  const std::size_t n = train_->n_rows;
  const bool last = m == config_.n_estimators - 1;
  Tree tree = fit_round_tree(m, fitter);
  std::vector<std::int32_t> leaf(n);
  fitter.leaf_of_rows(tree, Span<std::int32_t>(leaf.data(), n));
  double alpha = 0.0, error = 0.0;
  const bool kept = config_.is_regression() ? r2_update(tree, leaf, last, alpha, error)
                                            : samme_update(tree, leaf, last, alpha, error);
  if (!kept) return false;
  trees_.push_back(std::move(tree));
  tree_weights_.push_back(alpha);
  estimator_weights_[m] = alpha;
  estimator_errors_[m] = error;
  if (error <= 0) {
    estimator_errors_[m] = 0.0;
    stop_ = AdaBoostStop::kPerfect;
    return false;
  }
  double total = 0;
  for (double w : sample_weight_) total += w;
  if (!std::isfinite(total)) {
    stop_ = AdaBoostStop::kWeightOverflow;
    return false;
  }
  if (total <= 0) {
    stop_ = AdaBoostStop::kZeroWeights;
    return false;
  }
  if (!last)
    for (double& w : sample_weight_) w /= total;
  return true;
}

Model AdaBoostTrainer::model() const {
  if (config_.is_regression())
    return Model("adaboost_r2", 1, 1, Aggregation::kWeightedMedian, {0.0}, mapper_, trees_, tree_weights_);
  const int k = config_.n_classes;
  return Model("adaboost_samme", k, k, Aggregation::kSum, std::vector<double>(k, 0.0), mapper_, trees_, tree_weights_);
}

}  // namespace treeforge
