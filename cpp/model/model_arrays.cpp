// Model <-> ModelArrays: the flat form of files and pickles, every field, offset and index checked before use.
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include "model/model.hpp"

namespace treeforge {

namespace {

Aggregation parse_aggregation(const std::string& name) {
  if (name == "sum") return Aggregation::kSum;
  if (name == "mean") return Aggregation::kMean;
  if (name == "weighted_median") return Aggregation::kWeightedMedian;
  throw std::invalid_argument("model aggregation must be 'sum', 'mean' or 'weighted_median', got '" + name + "'");
}

const char* aggregation_name(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kSum: return "sum";
    case Aggregation::kMean: return "mean";
    case Aggregation::kWeightedMedian: return "weighted_median";
  }
  return "";
}

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

/// Checks the format version and what the field list says of every field: a field newer than the
/// file's version is empty, a per-node field has one entry per node.
void check_fields(const ModelArrays& a) {
  check(a.format_version >= 1 && a.format_version <= kModelFormatVersion, "unsupported model format version ",
        a.format_version);
  const std::size_t n_nodes = a.feature.size();
  check(n_nodes < (std::size_t{1} << 31), "model has too many nodes");
  for_each_field(a, [&](const FieldInfo& field, const auto& member) {
    if constexpr (IsVector<std::decay_t<decltype(member)>>::value) {
      if (a.format_version < field.since_version)
        check(member.empty(), "model field '", field.name, "' is not in format version ", a.format_version);
      else if (field.rule == FieldInfo::kPerNode)
        check(member.size() == n_nodes, "model node arrays have different lengths ('", field.name, "')");
    }
  });
}

/// Checks that `offsets` cut an array of `size` entries into consecutive ranges, before any range
/// is used: each lies in [0, size], the first is 0, the last `size`, and they never decrease
/// (strictly increase when `non_empty`), so every range [offsets[i], offsets[i + 1]) is inside.
void check_offsets(const std::vector<std::int64_t>& offsets, std::size_t size, bool non_empty, const char* name) {
  const auto end = static_cast<std::int64_t>(size);
  for (std::size_t i = 0; i < offsets.size(); ++i)
    check(offsets[i] >= 0 && offsets[i] <= end, "model ", name, "[", i, "] = ", offsets[i],
          " is out of range [0, ", end, "]");
  check(!offsets.empty() && offsets.front() == 0 && offsets.back() == end, "model ", name,
        " do not cover their array");
  for (std::size_t i = 0; i + 1 < offsets.size(); ++i)
    check(non_empty ? offsets[i] < offsets[i + 1] : offsets[i] <= offsets[i + 1], "model ", name,
          non_empty ? " are not increasing" : " decrease", " at ", i);
}

/// Checks the objective name against the output layout and aggregation it implies.
void check_objective(const ModelArrays& a, Aggregation aggregation) {
  if (!is_ensemble_objective(a.objective)) {
    make_objective(a.objective, a.n_outputs);  // validates the name and output count
    check(aggregation != Aggregation::kWeightedMedian, "model objective '", a.objective,
          "' cannot use the weighted_median aggregation");
    return;
  }
  const bool forest = forest_targets(a.objective) > 0;
  const int n_targets = forest ? forest_targets(a.objective) : 1;
  const bool regression = a.objective == "adaboost_r2" || (forest && !is_forest_classification(a.objective));
  const Aggregation expected = a.objective == "adaboost_r2"      ? Aggregation::kWeightedMedian
                               : a.objective == "adaboost_samme" ? Aggregation::kSum
                                                                 : Aggregation::kMean;
  check(aggregation == expected, "model objective '", a.objective, "' needs the '", aggregation_name(expected),
        "' aggregation");
  check(regression ? a.n_outputs == n_targets && a.leaf_dim == a.n_outputs
                   : (a.n_outputs >= 2 * n_targets && a.n_outputs % n_targets == 0 && a.leaf_dim == a.n_outputs),
        "model objective '", a.objective, "' does not match n_outputs and leaf_dim");
  for (double b : a.base_score) check(b == 0.0, "model objective '", a.objective, "' needs a zero base_score");
}

/// Checks the scalars, base score and objective; returns the aggregation.
Aggregation check_header(const ModelArrays& a) {
  const Aggregation aggregation = parse_aggregation(a.aggregation);
  check(a.n_features >= 1, "model n_features must be >= 1");
  check(a.n_outputs >= 1, "model n_outputs must be >= 1");
  check(a.leaf_dim == 1 || a.leaf_dim == a.n_outputs, "model leaf_dim must be 1 or n_outputs");
  check(a.max_bins >= 2 && a.max_bins <= 255, "model max_bins must be in [2, 255]");
  check(a.base_score.size() == static_cast<std::size_t>(a.n_outputs), "model base_score must have n_outputs values");
  // Within the bound on values (check_node_outputs), so that base score plus trees stays finite.
  for (double b : a.base_score)
    check(std::isfinite(b) && std::fabs(b) <= 1e300, "model base_score is not finite or too large");
  check_objective(a, aggregation);
  return aggregation;
}

BinMapper read_bin_mapper(const ModelArrays& a) {
  check(a.edge_offsets.size() == static_cast<std::size_t>(a.n_features) + 1, "model edge_offsets has a wrong length");
  check_offsets(a.edge_offsets, a.edges.size(), false, "edge_offsets");
  std::vector<std::vector<double>> edges(a.n_features);
  for (int f = 0; f < a.n_features; ++f)
    edges[f].assign(a.edges.begin() + a.edge_offsets[f], a.edges.begin() + a.edge_offsets[f + 1]);
  return BinMapper::from_edges(a.max_bins, std::move(edges));
}

/// The set splits of the arrays: each node's kind, and the words of the j-th set split in node
/// order at words[offsets[j], offsets[j + 1]). Version 1 arrays have no kinds: all numeric.
struct SetSplits {
  const std::vector<std::uint8_t>* kinds = nullptr;  ///< null: every split is numeric
  std::vector<std::int64_t> offsets{0};
  const std::vector<std::uint32_t>* words = nullptr;

  explicit SetSplits(const ModelArrays& a) : words(&a.cat_words) {
    if (a.format_version < 2) return;
    std::size_t n_sets = 0;
    for (std::uint8_t kind : a.split_kind) {
      check(kind <= static_cast<std::uint8_t>(SplitKind::kCategorySet), "model split_kind must be 0 or 1");
      n_sets += kind == static_cast<std::uint8_t>(SplitKind::kCategorySet);
    }
    check(a.cat_offsets.size() == n_sets + 1, "model cat_offsets must have one entry per set split, plus one");
    check_offsets(a.cat_offsets, a.cat_words.size(), true, "cat_offsets");
    kinds = &a.split_kind;
    offsets = a.cat_offsets;
  }
  SplitKind kind(std::size_t node) const {
    return kinds ? static_cast<SplitKind>((*kinds)[node]) : SplitKind::kNumeric;
  }
};

/// Checks the category set of a split on feature f, at set index j: its last word is not zero
/// (so the set is not empty, and has one form) and it holds only bins of the feature (so a code
/// never meets the missing code in the set, and bin space agrees with raw values).
void check_category_set(const SetSplits& sets, std::size_t j, int n_bins, std::size_t t, int i) {
  const std::uint32_t* words = sets.words->data() + sets.offsets[j];
  const std::size_t n_words = static_cast<std::size_t>(sets.offsets[j + 1] - sets.offsets[j]);
  check(words[n_words - 1] != 0, "model category set is empty or ends in a zero word at tree ", t, " node ", i);
  const std::size_t n_bits = 32 * n_words;
  for (std::size_t c = static_cast<std::size_t>(n_bins); c < n_bits; ++c)
    check(((words[c / 32] >> (c % 32)) & 1u) == 0, "model category set holds category ", c,
          ", not a bin of its feature, at tree ", t, " node ", i);
}

/// Checks internal node i (absolute index k) of tree t, `size` nodes long: its feature, its
/// children (after it: every walk moves forward and ends at a leaf), then its numeric threshold
/// (on a bin edge) or its category set (j: its set index). Counts its children in `parents`.
void check_split(const ModelArrays& a, const BinMapper& mapper, const SetSplits& sets, std::size_t j, std::size_t k,
                 std::size_t t, int i, std::vector<int>& parents) {
  const int size = static_cast<int>(parents.size()), f = a.feature[k], l = a.left[k], r = a.right[k];
  check(f < a.n_features, "model feature index out of range at tree ", t, " node ", i);
  check(l > i && l < size && r > i && r < size && l != r, "model child index out of range at tree ", t, " node ", i);
  ++parents[l];
  ++parents[r];
  if (sets.kind(k) == SplitKind::kCategorySet) {
    check(a.bin[k] == 0 && a.threshold[k] == 0.0, "model set split has a bin or threshold at tree ", t, " node ", i);
    check_category_set(sets, j, mapper.n_bins(f), t, i);
    return;
  }
  check(a.bin[k] >= 0 && a.bin[k] < mapper.n_bins(f), "model bin out of range at tree ", t, " node ", i);
  const auto& e = mapper.edges(f);
  const double expected = a.bin[k] < static_cast<int>(e.size()) ? e[a.bin[k]] : std::numeric_limits<double>::infinity();
  check(a.threshold[k] == expected, "model threshold does not match its bin at tree ", t, " node ", i);
}

/// Checks the outputs of node k of tree t: its values finite and small enough that a sum over the
/// model's n_trees trees stays finite, class distributions (forest classifiers) in [0, 1] summing
/// to 1, and a finite gain (importances sum them).
void check_node_outputs(const ModelArrays& a, std::size_t n_trees, std::size_t k, std::size_t t, int i) {
  const double bound = 1e300 / static_cast<double>(std::max<std::size_t>(n_trees, 1));
  const double* v = a.value.data() + k * a.leaf_dim;
  for (int d = 0; d < a.leaf_dim; ++d)
    check(std::isfinite(v[d]) && std::fabs(v[d]) <= bound, "model value is not finite or too large at tree ", t,
          " node ", i);
  check(std::isfinite(a.gain[k]), "model gain is not finite at tree ", t, " node ", i);
  if (!is_forest_classification(a.objective)) return;
  const int n_targets = forest_targets(a.objective), n_classes = a.leaf_dim / n_targets;
  for (int target = 0; target < n_targets; ++target) {
    double sum = 0;
    for (int d = target * n_classes; d < (target + 1) * n_classes; ++d) {
      check(v[d] >= 0.0 && v[d] <= 1.0, "model class share outside [0, 1] at tree ", t, " node ", i);
      sum += v[d];
    }
    check(std::fabs(sum - 1.0) <= 1e-9, "model class shares do not sum to 1 at tree ", t, " node ", i);
  }
}

/// Tree t of the arrays, every node checked; j: index of the next set split in node order.
Tree read_tree(const ModelArrays& a, const BinMapper& mapper, const SetSplits& sets, std::size_t t, std::size_t& j) {
  const std::int64_t lo = a.tree_offsets[t], hi = a.tree_offsets[t + 1];
  const int size = static_cast<int>(hi - lo);
  std::vector<int> parents(size, 0);
  Tree tree;
  tree.leaf_dim = a.leaf_dim;
  for (int i = 0; i < size; ++i) {
    const std::size_t k = static_cast<std::size_t>(lo) + i;
    check_node_outputs(a, a.tree_offsets.size() - 1, k, t, i);
    check(a.default_left[k] <= 1, "model default_left must be 0 or 1 at tree ", t, " node ", i);
    const bool is_set = a.feature[k] >= 0 && sets.kind(k) == SplitKind::kCategorySet;
    if (a.feature[k] < 0)
      check(a.feature[k] == -1 && a.left[k] == -1 && a.right[k] == -1 && sets.kind(k) == SplitKind::kNumeric,
            "model leaf is malformed at tree ", t, " node ", i);
    else
      check_split(a, mapper, sets, j, k, t, i, parents);
    tree.feature.push_back(a.feature[k]);
    tree.bin.push_back(a.bin[k]);
    tree.threshold.push_back(a.threshold[k]);
    tree.default_left.push_back(a.default_left[k]);
    tree.left.push_back(a.left[k]);
    tree.right.push_back(a.right[k]);
    tree.count.push_back(a.count[k]);
    tree.cover.push_back(a.cover[k]);
    tree.gain.push_back(a.gain[k]);
    tree.value.insert(tree.value.end(), a.value.begin() + k * a.leaf_dim, a.value.begin() + (k + 1) * a.leaf_dim);
    tree.split_kind.push_back(static_cast<std::uint8_t>(sets.kind(k)));
    tree.cat_begin.push_back(static_cast<std::int32_t>(tree.cat_words.size()));
    if (is_set) {
      tree.cat_words.insert(tree.cat_words.end(), sets.words->begin() + sets.offsets[j],
                            sets.words->begin() + sets.offsets[j + 1]);
      ++j;
    }
    tree.cat_size.push_back(static_cast<std::int32_t>(tree.cat_words.size()) - tree.cat_begin.back());
  }
  for (int i = 1; i < size; ++i) check(parents[i] == 1, "model node has no single parent at tree ", t, " node ", i);
  return tree;
}

}  // namespace

Model Model::from_arrays(const ModelArrays& a) {
  check_fields(a);
  const Aggregation aggregation = check_header(a);
  auto mapper = std::make_shared<const BinMapper>(read_bin_mapper(a));

  const std::size_t n_nodes = a.feature.size();
  check(a.value.size() == n_nodes * static_cast<std::size_t>(a.leaf_dim), "model value array has a wrong length");
  check_offsets(a.tree_offsets, n_nodes, true, "tree_offsets");
  const std::size_t n_trees = a.tree_offsets.size() - 1;
  check(a.leaf_dim != 1 || aggregation == Aggregation::kMean || n_trees % a.n_outputs == 0,
        "model tree count is not a multiple of n_outputs");
  check(a.tree_weight.empty() || a.tree_weight.size() == n_trees, "model tree_weight must have one value per tree");
  for (double w : a.tree_weight) check(std::isfinite(w) && w >= 0, "model tree_weight must be finite and >= 0");

  const SetSplits sets(a);
  std::vector<Tree> trees;
  std::size_t next_set = 0;
  for (std::size_t t = 0; t < n_trees; ++t) trees.push_back(read_tree(a, *mapper, sets, t, next_set));
  return Model(a.objective, a.n_outputs, a.leaf_dim, aggregation, a.base_score, std::move(mapper), std::move(trees),
               a.tree_weight);
}

ModelArrays Model::to_arrays() const {
  ModelArrays a;
  a.objective = objective_;
  a.aggregation = aggregation_name(aggregation_);
  a.tree_weight = tree_weights_;
  a.n_features = n_features();
  a.n_outputs = n_outputs_;
  a.leaf_dim = leaf_dim_;
  a.max_bins = mapper_->max_bins();
  a.base_score = base_score_;
  a.edge_offsets.push_back(0);
  for (int f = 0; f < n_features(); ++f) {
    const auto& e = mapper_->edges(f);
    a.edges.insert(a.edges.end(), e.begin(), e.end());
    a.edge_offsets.push_back(static_cast<std::int64_t>(a.edges.size()));
  }
  a.tree_offsets.push_back(0);
  a.cat_offsets.push_back(0);
  for (const Tree& t : trees_) {
    a.feature.insert(a.feature.end(), t.feature.begin(), t.feature.end());
    a.bin.insert(a.bin.end(), t.bin.begin(), t.bin.end());
    a.left.insert(a.left.end(), t.left.begin(), t.left.end());
    a.right.insert(a.right.end(), t.right.begin(), t.right.end());
    a.default_left.insert(a.default_left.end(), t.default_left.begin(), t.default_left.end());
    a.threshold.insert(a.threshold.end(), t.threshold.begin(), t.threshold.end());
    a.count.insert(a.count.end(), t.count.begin(), t.count.end());
    a.cover.insert(a.cover.end(), t.cover.begin(), t.cover.end());
    a.gain.insert(a.gain.end(), t.gain.begin(), t.gain.end());
    a.value.insert(a.value.end(), t.value.begin(), t.value.end());
    a.split_kind.insert(a.split_kind.end(), t.split_kind.begin(), t.split_kind.end());
    for (int i = 0; i < t.n_nodes(); ++i) {
      if (t.is_leaf(i) || t.split_kind[i] != static_cast<std::uint8_t>(SplitKind::kCategorySet)) continue;
      const auto words = t.cat_words.begin() + t.cat_begin[i];
      a.cat_words.insert(a.cat_words.end(), words, words + t.cat_size[i]);
      a.cat_offsets.push_back(static_cast<std::int64_t>(a.cat_words.size()));
    }
    a.tree_offsets.push_back(static_cast<std::int64_t>(a.feature.size()));
  }
  return a;
}

}  // namespace treeforge
