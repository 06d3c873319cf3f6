// Interaction groups: the features a node's path allows.
#include "grow/constraints.hpp"

namespace treeforge {

InteractionGroups::InteractionGroups(const std::vector<std::vector<int>>& groups, int n_features)
    : n_features_(n_features) {
  std::vector<char> covered(n_features, 0);
  for (const std::vector<int>& group : groups) {
    std::vector<char> mask(n_features, 0);
    for (int f : group) {
      check(f >= 0 && f < n_features, "interaction group feature ", f, " is out of range for ", n_features,
            " features");
      mask[f] = covered[f] = 1;
    }
    groups_.push_back(std::move(mask));
  }
  for (int f = 0; f < n_features && !groups_.empty(); ++f)
    check(covered[f], "feature ", f, " is in no interaction group (every feature must be in one)");
}

std::vector<char> InteractionGroups::allowed(const std::vector<int>& path) const {
  std::vector<char> out(n_features_, groups_.empty() ? 1 : 0);
  for (const std::vector<char>& group : groups_) {
    bool holds_path = true;
    for (int f : path) holds_path = holds_path && group[f];
    if (!holds_path) continue;
    for (int f = 0; f < n_features_; ++f) out[f] |= group[f];
  }
  return out;
}

std::vector<int> with_feature(std::vector<int> path, int feature) {
  const auto at = std::lower_bound(path.begin(), path.end(), feature);
  if (at == path.end() || *at != feature) path.insert(at, feature);
  return path;
}

}  // namespace treeforge
