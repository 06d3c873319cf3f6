// GbdtTrainer: base score, per-iteration gradients and sampling, tree growth, margin updates.
#include "learners/gbdt.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.hpp"
#include "core/random.hpp"

namespace treeforge {

namespace {

constexpr std::uint64_t kRowStream = 0x726f7773;   // "rows"
constexpr std::uint64_t kColStream = 0x636f6c73;   // "cols"
constexpr std::uint64_t kTreeStream = 0x74726565;  // "tree"
constexpr std::size_t kMinRowsForParallelUpdate = 1 << 16;
// Trees grown side by side take a histogram pool each: the pools beyond the first may take at
// most this much between them, by the bound below, or the trees grow one after the other.
constexpr double kSideBySidePoolBytes = 1024.0 * 1024 * 1024;

/// At most how many bytes a tree's histogram pool holds: a histogram per leaf, the most leaves
/// the limits on leaves, depth and leaf size allow.
double pool_bound(const BinnedMatrix& X, const TreeConfig& tree) {
  double leaves = static_cast<double>(X.n_rows) / tree.min_samples_leaf + 1;
  if (tree.max_leaf_nodes > 0) leaves = std::min(leaves, static_cast<double>(tree.max_leaf_nodes));
  if (tree.max_depth > 0) leaves = std::min(leaves, std::ldexp(1.0, tree.max_depth));
  return leaves * X.n_hist_slots() * GradientCriterion::kChannels * sizeof(std::int64_t);
}

}  // namespace

GbdtTrainer::GbdtTrainer(const GbdtConfig& config, std::shared_ptr<const BinMapper> mapper,
                         std::shared_ptr<const BinnedMatrix> train, TrainData train_data,
                         std::shared_ptr<const BinnedMatrix> valid, TrainData valid_data, const Model* init_model,
                         std::vector<double> base_score, DistributedRows distributed)
    : config_(config),
      distributed_(std::move(distributed)),
      objective_(make_objective(config.objective, config.n_outputs)),
      mapper_(std::move(mapper)),
      train_(std::move(train)),
      valid_(std::move(valid)),
      train_data_(std::move(train_data)),
      valid_data_(std::move(valid_data)),
      grower_(std::make_unique<TreeGrower>((config.validate(), *train_), *mapper_, config.tree, config.n_threads,
                                           distributed_.reduction.get())) {
  check(train_->n_rows > 0, "cannot train on 0 rows");
  check(train_->n_features >= 1, "cannot train on 0 features");
  check(train_->n_features == mapper_->n_features(), "training data and bin mapper disagree on n_features");
  train_data_.validate(train_->n_rows, config_.n_outputs, "training data");
  objective_->check_labels(train_data_);
  if (valid_) {
    check(valid_->n_features == train_->n_features, "validation data has a different number of features");
    valid_data_.validate(valid_->n_rows, config_.n_outputs, "validation data");
    objective_->check_labels(valid_data_);
  }
  for (int f = 0; f < train_->n_features; ++f) usable_features_.push_back(f);
  if (distributed_.reduction) {
    check_distributed();
    check(!base_score.empty() || init_model != nullptr || !train_data_.base_margin.empty(),
          "a distributed fit needs the global base_score");
  }

  const int k = config_.n_outputs;
  if (init_model) {
    check(init_model->objective() == config_.objective && init_model->n_outputs() == k &&
              init_model->leaf_dim() == 1 && init_model->n_features() == train_->n_features,
          "init_model does not match the training configuration");
    base_score_ = init_model->base_score();
    trees_ = init_model->trees();
  } else if (!train_data_.base_margin.empty()) {
    base_score_.assign(k, 0.0);
  } else if (!base_score.empty()) {
    check(static_cast<int>(base_score.size()) == k, "base_score needs one value per output (", k, "), got ",
          base_score.size());
    for (double b : base_score) check(std::isfinite(b), "base_score must be finite");
    base_score_ = std::move(base_score);
  } else {
    base_score_ = objective_->base_score(train_data_);
  }
  check(valid_ == nullptr || train_data_.base_margin.empty() == valid_data_.base_margin.empty(),
        "give a base_margin for both the training and the validation data, or for neither");
  train_margin_ = initial_margin(*train_, train_data_);
  if (valid_) valid_margin_ = initial_margin(*valid_, valid_data_);
  gh_.resize(train_->n_rows * static_cast<std::size_t>(k));
}

void GbdtTrainer::check_distributed() const {
  const auto& groups = train_data_.group_begin;
  distributed_.check(train_->n_rows, groups.empty() ? 0 : groups.size() - 1);
  check(valid_ == nullptr, "a distributed fit takes no validation data yet (#26)");
  check(!objective_->renews_leaf_values(), "a distributed fit cannot renew leaf values (", config_.objective,
        ") yet (#26)");
}

std::vector<double> GbdtTrainer::initial_margin(const BinnedMatrix& X, const TrainData& data) {
  const int k = config_.n_outputs;
  std::vector<double> margin(X.n_rows * k, 0.0);
  for (int c = 0; c < k; ++c) std::fill(margin.begin() + c * X.n_rows, margin.begin() + (c + 1) * X.n_rows, base_score_[c]);
  for (std::size_t i = 0; i < data.base_margin.size(); ++i) margin[i] += data.base_margin[i];
  for (std::size_t t = 0; t < trees_.size(); ++t)
    add_tree_to_margin(trees_[t], X, margin.data() + (t % k) * X.n_rows, nullptr, config_.n_threads);
  return margin;
}

void GbdtTrainer::add_tree_to_margin(const Tree& tree, const BinnedMatrix& X, double* margin,
                                     const TreeGrower* grown_by, int n_threads) {
  if (grown_by) {
    // Every training row sits in exactly one leaf range of the grower's partition: no traversal.
    const auto& leaves = grown_by->leaves();
    const auto& rows = grown_by->partition().indices();
    // Small trainings stay serial: a fork per tree would cost more than the update itself.
    const int threads = rows.size() >= kMinRowsForParallelUpdate ? n_threads : 1;
    parallel_for(leaves.size(), threads, [&](std::size_t l) {
      const double v = tree.value[leaves[l].node];
      for (std::size_t i = leaves[l].begin; i < leaves[l].end; ++i) margin[rows[i]] += v;
    });
    return;
  }
  constexpr std::size_t kBlock = 4096;
  parallel_for(n_blocks(X.n_rows, kBlock), n_threads, [&](std::size_t b) {
    for (std::size_t i = b * kBlock, end = std::min(X.n_rows, (b + 1) * kBlock); i < end; ++i)
      margin[i] += tree.value[tree.leaf_of_row(X, i)];
  });
}

Tree GbdtTrainer::grow_output(TreeGrower& grower, int c, std::uint64_t iteration, Span<const row_t> rows,
                              int n_threads) {
  std::vector<int> features = usable_features_;
  if (config_.colsample_bytree < 1.0) {
    Rng rng(derive_seed(config_.seed, iteration, kColStream + c));
    const int n_features = static_cast<int>(usable_features_.size());
    const int n_pick = std::max(1, static_cast<int>(std::llround(config_.colsample_bytree * n_features)));
    features = sample_features(n_features, n_pick, rng);
  }
  const std::size_t n = train_->n_rows;
  const Span<const GradPair> gh(gh_.data() + c * n, n);
  // The scale of every participant's gradients merged, on a distributed fit.
  const GradScale scale = distributed_.reduction
                              ? GradScale::of(distributed_.reduction->merge(GradRange::of(gh, rows, n_threads)))
                              : GradScale::fit(gh, rows, n_threads);
  const GradientCriterion criterion(gh, scale, config_.tree);
  Tree tree = grower.grow(criterion, rows, features, derive_seed(config_.seed, iteration, kTreeStream + c));
  if (objective_->renews_leaf_values()) renew_leaf_values(tree, grower, c, n_threads);
  tree.scale_values(config_.learning_rate);
  // With every row in the tree, the grower's partition says which leaf each row is in.
  add_tree_to_margin(tree, *train_, train_margin_.data() + c * n, rows.empty() ? &grower : nullptr, n_threads);
  if (valid_) add_tree_to_margin(tree, *valid_, valid_margin_.data() + c * valid_->n_rows, nullptr, n_threads);
  return tree;
}

void GbdtTrainer::renew_leaf_values(Tree& tree, const TreeGrower& grower, int c, int n_threads) const {
  const auto& leaves = grower.leaves();
  const std::vector<row_t>& rows = grower.partition().indices();
  const double* margin = train_margin_.data() + c * train_->n_rows;
  // Each leaf's value depends on its own rows only (in any order): leaves are renewed side by side.
  parallel_for_dynamic(leaves.size(), n_threads, [&](std::size_t l) {
    const LeafRange& leaf = leaves[l];
    const Span<const row_t> leaf_rows(rows.data() + leaf.begin, leaf.end - leaf.begin);
    // Held within the leaf's bounds, so that monotone constraints survive the renewal.
    tree.value[leaf.node] = leaf.bounds.clamp(objective_->renewed_leaf_value(train_data_, margin, leaf_rows));
  });
}

void GbdtTrainer::update() {
  check_open();
  update_failed_ = true;
  objective_->gradients(train_data_, Span<const double>(train_margin_.data(), train_margin_.size()),
                        Span<GradPair>(gh_.data(), gh_.size()), config_.n_threads);
  grow_iteration();
}

void GbdtTrainer::update(Span<const double> grad, Span<const double> hess) {
  check_open();
  check(grad.size == gh_.size() && hess.size == gh_.size(), "gradient and hessian need ", gh_.size(),
        " values (n_rows * n_outputs), got ", grad.size, " and ", hess.size);
  for (std::size_t i = 0; i < gh_.size(); ++i) {
    check(std::isfinite(grad[i]) && std::isfinite(hess[i]), "gradient and hessian must be finite (row ",
          i % train_->n_rows, ")");
    check(hess[i] >= 0, "hessians must be >= 0 (row ", i % train_->n_rows, ", got ", hess[i], ")");
  }
  update_failed_ = true;
  for (std::size_t i = 0; i < gh_.size(); ++i) gh_[i] = {static_cast<float>(grad[i]), static_cast<float>(hess[i])};
  grow_iteration();
}

void GbdtTrainer::set_learning_rate(double learning_rate) {
  check(std::isfinite(learning_rate) && learning_rate > 0, "learning_rate must be > 0, got ", learning_rate);
  config_.learning_rate = learning_rate;
}

std::vector<row_t> GbdtTrainer::draw_rows(std::uint64_t iteration) const {
  if (config_.subsample >= 1.0) return {};
  Rng rng(derive_seed(config_.seed, iteration, kRowStream));
  const auto& groups = train_data_.group_begin;
  const bool distributed = distributed_.reduction != nullptr;
  const std::size_t n_rows = distributed ? distributed_.n_global_rows : train_->n_rows;
  const std::size_t n = groups.empty() ? n_rows : distributed ? distributed_.n_global_queries : groups.size() - 1;
  const std::size_t n_sample = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(config_.subsample * n)));
  std::vector<row_t> drawn = sample_without_replacement(n, n_sample, rng);
  if (distributed) drawn = own_ids(drawn, groups.empty() ? distributed_.global_rows : distributed_.global_queries,
                                   iteration);
  if (groups.empty()) return drawn;
  std::vector<row_t> rows;  // a ranking loss needs every document of a query: queries are drawn whole
  for (row_t q : drawn)
    for (std::int64_t i = groups[q]; i < groups[q + 1]; ++i) rows.push_back(static_cast<row_t>(i));
  return rows;
}

std::vector<row_t> GbdtTrainer::own_ids(const std::vector<row_t>& drawn, const std::vector<std::int64_t>& ids,
                                        std::uint64_t iteration) const {
  std::vector<row_t> mine;
  for (const row_t r : drawn) {
    const auto at = std::lower_bound(ids.begin(), ids.end(), static_cast<std::int64_t>(r));
    if (at != ids.end() && *at == r) mine.push_back(static_cast<row_t>(at - ids.begin()));
  }
  // An empty list would mean every row to the grower.
  check(!mine.empty(), "iteration ", iteration, "'s subsample has none of this worker's ", ids.size(),
        train_data_.group_begin.empty() ? " rows" : " queries",
        ": give each worker more of them or a larger subsample");
  return mine;
}

void GbdtTrainer::grow_iteration() {
  const int k = config_.n_outputs;
  const std::uint64_t iteration = static_cast<std::uint64_t>(n_iter());
  const std::vector<row_t> rows = draw_rows(iteration);  // empty = all rows
  const Span<const row_t> tree_rows(rows.data(), rows.size());

  // The k trees of a multiclass iteration are independent of each other. With at least as many
  // trees as threads (and memory for their pools) they are grown side by side, one per thread
  // on a one-thread grower, which joins no threads inside a tree; a tree is the same on any
  // number of threads. The trees left over get all threads one after the other.
  const int threads = config_.n_threads;
  const bool pools_fit = (threads - 1) * pool_bound(*train_, config_.tree) <= kSideBySidePoolBytes;
  // A participant of a distributed fit grows its trees one after the other: its reductions
  // must come in everyone's order.
  const bool alone = distributed_.reduction == nullptr;
  const int side_by_side = alone && threads > 1 && k >= threads && pools_fit ? k - k % threads : 0;
  std::vector<Tree> grown(k);
  if (side_by_side > 0) {
    while (static_cast<int>(solo_growers_.size()) < threads)
      solo_growers_.push_back(std::make_unique<TreeGrower>(*train_, *mapper_, config_.tree, 1));
    parallel_for_dynamic(side_by_side, threads, [&](std::size_t c) {
      grown[c] = grow_output(*solo_growers_[thread_index()], static_cast<int>(c), iteration, tree_rows, 1);
    });
  }
  for (int c = side_by_side; c < k; ++c) grown[c] = grow_output(*grower_, c, iteration, tree_rows, threads);
  for (Tree& tree : grown) trees_.push_back(std::move(tree));
  update_failed_ = false;
}

Model GbdtTrainer::finish() {
  grower_.reset();
  solo_growers_.clear();
  train_.reset();
  valid_.reset();
  train_data_ = TrainData{};
  valid_data_ = TrainData{};
  std::vector<double>().swap(train_margin_);
  std::vector<double>().swap(valid_margin_);
  std::vector<GradPair>().swap(gh_);
  return model();
}

double GbdtTrainer::train_loss() const {
  check_open();
  return objective_->loss(train_data_, Span<const double>(train_margin_.data(), train_margin_.size()),
                          config_.n_threads);
}

double GbdtTrainer::valid_loss() const {
  check_open();
  check(valid_ != nullptr, "no validation data was given");
  return objective_->loss(valid_data_, Span<const double>(valid_margin_.data(), valid_margin_.size()),
                          config_.n_threads);
}

Model GbdtTrainer::model() const {
  return Model(config_.objective, config_.n_outputs, 1, Aggregation::kSum, base_score_, mapper_, trees_);
}

}  // namespace treeforge
