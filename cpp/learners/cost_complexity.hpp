// Minimal cost-complexity pruning of one grown tree (scikit-learn's ccp_alpha).
#pragma once

#include <vector>

#include "model/tree.hpp"

namespace treeforge {

/// What pruning needs of every node of a tree: its risk R(t), the weighted impurity of its rows
/// times their weight (W * impurity), and the values it takes if it becomes a leaf.
struct NodeRisks {
  std::vector<double> risk;    ///< (n_nodes,)
  std::vector<double> value;   ///< (n_nodes * leaf_dim,) exact leaf values of every node
};

/// The smallest subtree T of `tree` minimising R(T) + alpha * |leaves of T| (Breiman et al.,
/// the subtree scikit-learn's weakest-link pruning reaches for ccp_alpha), alpha in the units of
/// `risks` (scikit-learn's ccp_alpha times the tree's total weight). A node whose own risk plus
/// alpha is at most its best subtree's becomes a leaf with its exact value; nodes below it go.
/// Node order is kept (children after their parent). Returns whether anything was pruned.
bool prune_cost_complexity(Tree& tree, const NodeRisks& risks, double alpha);

}  // namespace treeforge
