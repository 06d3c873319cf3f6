// Minimal cost-complexity pruning: the best subtree bottom-up, then the tree without the pruned nodes.
#include "learners/cost_complexity.hpp"

#include <algorithm>

#include "core/common.hpp"

namespace treeforge {

namespace {

/// `tree` keeping the nodes with keep[i]; those with as_leaf[i] become leaves with `values`.
Tree compacted(const Tree& tree, const std::vector<char>& keep, const std::vector<char>& as_leaf,
               const std::vector<double>& values) {
  const int n = tree.n_nodes(), k = tree.leaf_dim;
  std::vector<int> new_index(n, -1);
  for (int i = 0, next = 0; i < n; ++i)
    if (keep[i]) new_index[i] = next++;
  Tree out;
  out.leaf_dim = k;
  for (int i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    const bool leaf = tree.is_leaf(i) || as_leaf[i];
    out.add_leaf(leaf ? values.data() + static_cast<std::size_t>(i) * k
                      : tree.value.data() + static_cast<std::size_t>(i) * k,
                 tree.count[i], tree.cover[i]);
    if (leaf) continue;
    const int j = new_index[i];
    out.feature[j] = tree.feature[i];
    out.bin[j] = tree.bin[i];
    out.threshold[j] = tree.threshold[i];
    out.default_left[j] = tree.default_left[i];
    out.left[j] = new_index[tree.left[i]];
    out.right[j] = new_index[tree.right[i]];
    out.gain[j] = tree.gain[i];
    out.split_kind[j] = tree.split_kind[i];
    out.cat_begin[j] = static_cast<std::int32_t>(out.cat_words.size());
    out.cat_size[j] = tree.cat_size[i];
    out.cat_words.insert(out.cat_words.end(), tree.cat_words.begin() + tree.cat_begin[i],
                         tree.cat_words.begin() + tree.cat_begin[i] + tree.cat_size[i]);
  }
  return out;
}

}  // namespace

bool prune_cost_complexity(Tree& tree, const NodeRisks& risks, double alpha) {
  const int n = tree.n_nodes();
  check_internal(static_cast<int>(risks.risk.size()) == n &&
                     risks.value.size() == static_cast<std::size_t>(n) * tree.leaf_dim,
                 "node risks do not match the tree");
  // best[i]: the least R + alpha * leaves over the subtrees rooted at i; children come after
  // their parent, so a reverse sweep sees them first.
  std::vector<double> best(n);
  std::vector<char> as_leaf(n, 0);
  bool pruned = false;
  for (int i = n - 1; i >= 0; --i) {
    const double alone = risks.risk[i] + alpha;
    if (tree.is_leaf(i)) {
      best[i] = alone;
      continue;
    }
    const double below = best[tree.left[i]] + best[tree.right[i]];
    as_leaf[i] = alone <= below;  // ties: the smaller tree
    best[i] = std::min(alone, below);
    pruned |= as_leaf[i] != 0;
  }
  if (!pruned) return false;
  // Kept: the root and every child of a kept node that splits.
  std::vector<char> keep(n, 0);
  keep[0] = 1;
  for (int i = 0; i < n; ++i)
    if (keep[i] && !tree.is_leaf(i) && !as_leaf[i]) keep[tree.left[i]] = keep[tree.right[i]] = 1;
  tree = compacted(tree, keep, as_leaf, risks.value);
  return true;
}

}  // namespace treeforge
