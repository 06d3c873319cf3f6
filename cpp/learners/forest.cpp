// ForestTrainer: per-tree bags and weights, trees grown in parallel into their slots, out-of-bag sums.
#include "learners/forest.hpp"

#include <algorithm>
#include <cmath>

#include "core/parallel.hpp"

namespace treeforge {

namespace {

constexpr std::uint64_t kBagStream = 0x62616773;   // "bags"
constexpr std::uint64_t kTreeStream = 0x74726565;  // "tree"
constexpr std::size_t kOobRowBlock = 512;          // rows per task of the out-of-bag pass

}  // namespace

ForestTrainer::ForestTrainer(const ForestConfig& config, std::shared_ptr<const BinMapper> mapper,
                             std::shared_ptr<const BinnedMatrix> train, TrainData data,
                             const Model* init_model, DistributedRows distributed, std::vector<double> sampling_weights)
    : config_(config),
      mapper_(std::move(mapper)),
      train_(std::move(train)),
      data_(std::move(data)),
      distributed_(std::move(distributed)),
      sampling_weights_(std::move(sampling_weights)) {
  config_.validate();
  data_.n_targets = config_.n_targets;  // y holds n_targets columns, row-major
  classes_ = check_tree_data(train_.get(), *mapper_, data_, config_.criterion, config_.n_classes);
  if (distributed_.reduction) {
    distributed_.check(train_->n_rows, 0);
    check(init_model == nullptr && !config_.balanced_subsample && config_.ccp_alpha == 0.0,
          "a distributed forest takes no warm start, balanced_subsample or ccp_alpha yet (#26)");
    check(sampling_weights_.empty() || sampling_weights_.size() == distributed_.n_global_rows,
          "sampling_weights needs one weight per global row (", distributed_.n_global_rows, "), got ",
          sampling_weights_.size());
  } else {
    check(sampling_weights_.empty(), "sampling_weights are a distributed fit's");
  }
  const std::vector<double>& draw_weights = distributed_.reduction ? sampling_weights_ : data_.weight;
  if (config_.bootstrap && config_.with_replacement && !draw_weights.empty())
    sampler_ = std::make_unique<AliasTable>(Span<const double>(draw_weights.data(), draw_weights.size()));
  if (init_model) {
    check(init_model->objective() == objective() && init_model->n_outputs() == n_outputs() &&
              init_model->n_features() == train_->n_features,
          "init_model does not match the forest configuration");
    trees_ = init_model->trees();
  }
}

std::string ForestTrainer::objective() const {
  return forest_objective(!is_regression(config_.criterion), config_.n_targets);
}

void draw_bag_counts(const ForestConfig& config, Span<const double> weights, const AliasTable* sampler,
                     std::size_t tree, Span<std::uint32_t> counts) {
  check(weights.empty() || weights.size == counts.size, "sampling weights must have one value per row");
  if (!config.bootstrap) {
    std::fill(counts.begin(), counts.end(), 1u);
    return;
  }
  const std::size_t n = counts.size;
  const std::size_t n_draws = config.n_samples_bootstrap > 0 ? static_cast<std::size_t>(config.n_samples_bootstrap) : n;
  Rng rng(derive_seed(config.seed, static_cast<std::uint64_t>(tree), kBagStream));
  if (!config.with_replacement) {
    draw_subsample_counts(n_draws, weights, rng, counts);
  } else if (weights.empty()) {
    draw_uniform_counts(n_draws, rng, counts);
  } else if (sampler) {
    draw_weighted_counts(*sampler, n_draws, rng, counts);
  } else {
    draw_weighted_counts(AliasTable(weights), n_draws, rng, counts);
  }
}

void ForestTrainer::bag_counts(int tree, Span<std::uint32_t> counts) const {
  check(tree >= 0, "tree index must be >= 0");
  check(counts.size == train_->n_rows, "counts must have one entry per row");
  if (!distributed_.reduction) {
    draw_bag_counts(config_, Span<const double>(data_.weight.data(), data_.weight.size()), sampler_.get(),
                    static_cast<std::size_t>(tree), counts);
    return;
  }
  // The single-machine draw over every global row; this participant's rows take their counts.
  std::vector<std::uint32_t> all(distributed_.n_global_rows);
  draw_bag_counts(config_, Span<const double>(sampling_weights_.data(), sampling_weights_.size()), sampler_.get(),
                  static_cast<std::size_t>(tree), Span<std::uint32_t>(all.data(), all.size()));
  for (std::size_t i = 0; i < counts.size; ++i) counts[i] = all[distributed_.global_rows[i]];
}

void ForestTrainer::tree_weights(std::size_t tree, Span<std::uint32_t> counts, Span<double> weights) const {
  const std::size_t n = train_->n_rows;
  bag_counts(static_cast<int>(tree), counts);
  if (!config_.bootstrap) {
    for (std::size_t i = 0; i < n; ++i) weights[i] = data_.weight_of(i);
    return;
  }
  // The sample weights chose the rows; the tree sees each drawn row once per draw (scikit-learn).
  for (std::size_t i = 0; i < n; ++i) weights[i] = counts[i];
  if (!config_.balanced_subsample) return;
  // compute_sample_weight('balanced', y, indices=bag): n_drawn / (classes present * draws of the
  // class), multiplied over the targets.
  const int n_targets = config_.n_targets;
  for (int t = 0; t < n_targets; ++t) {
    std::vector<double> drawn(config_.n_classes, 0.0);
    double n_drawn = 0;
    for (std::size_t i = 0; i < n; ++i) {
      drawn[classes_[i * n_targets + t]] += counts[i];
      n_drawn += counts[i];
    }
    const double present = static_cast<double>(std::count_if(drawn.begin(), drawn.end(), [](double d) { return d > 0; }));
    std::vector<double> class_factor(config_.n_classes, 0.0);
    for (int c = 0; c < config_.n_classes; ++c)
      if (drawn[c] > 0) class_factor[c] = n_drawn / (present * drawn[c]);
    for (std::size_t i = 0; i < n; ++i) weights[i] *= class_factor[classes_[i * n_targets + t]];
  }
}

void ForestTrainer::grow(int n_new) {
  check(n_new >= 0, "the number of new trees must be >= 0");
  if (n_new == 0) return;
  const std::size_t first = trees_.size();
  const std::size_t n = train_->n_rows;
  trees_.resize(first + n_new);
  // Enough trees for every thread: trees in parallel, each grown by one thread. Otherwise trees
  // one after another, each grown by every thread. The grower's output is the same either way.
  // A participant of a distributed fit grows its trees one after the other: its reductions must
  // come in everyone's order.
  const bool tree_parallel = config_.n_threads > 1 && n_new >= config_.n_threads && !distributed_.reduction;
  const int n_slots = tree_parallel ? config_.n_threads : 1;
  const int grower_threads = tree_parallel ? 1 : config_.n_threads;
  struct Slot {
    std::unique_ptr<TreeFitter> fitter;
    std::vector<std::uint32_t> counts;
    std::vector<double> weights;
  };
  std::vector<Slot> slots(n_slots);
  const TreeLimits limits{config_.min_weight_fraction_leaf, config_.min_impurity_decrease, config_.ccp_alpha};
  auto grow_tree = [&](std::size_t j) {
    Slot& slot = slots[tree_parallel ? thread_index() : 0];
    if (!slot.fitter) {
      slot.fitter = std::make_unique<TreeFitter>(*train_, *mapper_, config_.tree, config_.criterion, config_.n_classes,
                                                 config_.max_features, grower_threads, config_.n_targets,
                                                 &distributed_);
      slot.counts.resize(n);
      slot.weights.resize(n);
    }
    const std::size_t t = first + j;
    tree_weights(t, Span<std::uint32_t>(slot.counts.data(), n), Span<double>(slot.weights.data(), n));
    trees_[t] = slot.fitter->fit(data_, Span<const std::int32_t>(classes_.data(), classes_.size()), Span<const double>(slot.weights.data(), n), limits,
                                 derive_seed(config_.seed, t, kTreeStream));
  };
  try {
    parallel_for_dynamic(static_cast<std::size_t>(n_new), tree_parallel ? config_.n_threads : 1, grow_tree);
  } catch (...) {
    trees_.resize(first);  // an interrupted batch adds no tree: the forest stays as it was
    throw;
  }
}

void ForestTrainer::oob_sums(Span<double> sums, Span<std::int32_t> n_trees_oob) const {
  check(config_.bootstrap, "out-of-bag estimates need bootstrap");
  const std::size_t n = train_->n_rows;
  const int k = n_outputs();
  check_internal(sums.size == n * k && n_trees_oob.size == n, "out-of-bag buffers have a wrong size");
  // One bit per (tree, row): set when the row is in the tree's bag.
  const std::size_t words = n_blocks(n, 64);
  std::vector<std::uint64_t> in_bag(trees_.size() * words, 0);
  parallel_for(trees_.size(), config_.n_threads, [&](std::size_t t) {
    std::vector<std::uint32_t> counts(n);
    bag_counts(static_cast<int>(t), Span<std::uint32_t>(counts.data(), n));
    std::uint64_t* bits = in_bag.data() + t * words;
    for (std::size_t i = 0; i < n; ++i)
      if (counts[i]) bits[i / 64] |= std::uint64_t{1} << (i % 64);
  });
  const BinnedMatrix& X = *train_;
  parallel_for(n_blocks(n, kOobRowBlock), config_.n_threads, [&](std::size_t b) {
    const std::size_t lo = b * kOobRowBlock, hi = std::min(n, lo + kOobRowBlock);
    std::fill(sums.begin() + lo * k, sums.begin() + hi * k, 0.0);
    std::fill(n_trees_oob.begin() + lo, n_trees_oob.begin() + hi, 0);
    // Two bytes a code: a feature may be wide (OOB scoring is a small part of a fit). Sparse
    // rows are not made dense: each step finds its code among the row's entries.
    std::vector<wide_code_t> codes(X.is_sparse() ? 0 : (hi - lo) * static_cast<std::size_t>(X.n_features));
    if (!X.is_sparse()) X.copy_rows(lo, hi, codes.data());
    // Tree by tree over the block (a tree's nodes stay in cache): each row still adds its trees
    // in increasing order, whatever thread runs the block.
    for (std::size_t t = 0; t < trees_.size(); ++t) {
      const Tree& tree = trees_[t];
      const std::uint64_t* bits = in_bag.data() + t * words;
      for (std::size_t i = lo; i < hi; ++i) {
        if (bits[i / 64] >> (i % 64) & 1) continue;
        const int leaf = X.is_sparse() ? tree.leaf_of_row(X, i)
                                       : tree.leaf_of_codes(codes.data() + (i - lo) * X.n_features, X);
        const double* value = tree.value.data() + static_cast<std::size_t>(leaf) * k;
        for (int c = 0; c < k; ++c) sums[i * k + c] += value[c];
        ++n_trees_oob[i];
      }
    }
  });
}

Model ForestTrainer::model() const {
  const int k = n_outputs();
  return Model(objective(), k, k, Aggregation::kMean, std::vector<double>(k, 0.0), mapper_, trees_);
}

}  // namespace treeforge
