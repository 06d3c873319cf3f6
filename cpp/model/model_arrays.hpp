// ModelArrays: a model as flat arrays (model files, pickles), and the one list of its fields.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace treeforge {

/// The model format version every save writes; files of versions 1..kModelFormatVersion load.
///   1: numeric splits only.
///   2: adds split_kind, cat_offsets and cat_words (category-set splits).
inline constexpr int kModelFormatVersion = 2;

/// Every field of a model as plain arrays: the exchange format of model files and pickles.
/// Node arrays of all trees are concatenated; tree t owns nodes [tree_offsets[t], tree_offsets[t+1]).
///
/// Category sets: the j-th set split in node order (over all trees) owns the bitset words
/// cat_words[cat_offsets[j], cat_offsets[j + 1]) (see CategorySet for the bit order):
///
///   split_kind   0  1  0  0  1  0 ...      node k is a set split when split_kind[k] == 1
///                   |        |
///   set j           0        1
///   cat_offsets  [0,        2,       3]    set 0: words 0..1, set 1: word 2
///   cat_words    [w0, w1,   w2]
struct ModelArrays {
  int format_version = kModelFormatVersion;
  std::string objective;
  std::string aggregation = "sum";
  int n_features = 0;
  int n_outputs = 1;
  int leaf_dim = 1;  ///< 1: tree t adds to output t % n_outputs; n_outputs: each tree adds to all outputs
  int max_bins = 255;
  std::vector<double> base_score;          ///< (n_outputs,)
  std::vector<std::int64_t> edge_offsets;  ///< (n_features + 1,) feature f: edges[edge_offsets[f], edge_offsets[f+1])
  std::vector<double> edges;
  std::vector<std::int64_t> tree_offsets;  ///< (n_trees + 1,)
  std::vector<std::int32_t> feature, bin, left, right;  ///< (n_nodes,) each; feature -1 at leaves
  std::vector<std::uint8_t> default_left;               ///< (n_nodes,)
  std::vector<double> threshold, count, cover, gain;    ///< (n_nodes,) each
  std::vector<double> value;  ///< (n_nodes * leaf_dim,)
  /// (n_trees,) estimator weight of each tree (AdaBoost), or empty: every tree weighs 1. The
  /// weighted median uses them; sums and means ignore them (leaf values are already scaled).
  /// Optional in files: absent in models written before it existed.
  std::vector<double> tree_weight;
  std::vector<std::uint8_t> split_kind;   ///< (n_nodes,) SplitKind; version 1 files: absent, all numeric
  std::vector<std::int64_t> cat_offsets;  ///< (n_set_splits + 1,); version 1 files: absent
  std::vector<std::uint32_t> cat_words;   ///< bitsets of the set splits, in node order
};

/// How a field appears in files and pickles.
struct FieldInfo {
  enum Rule {
    kRequired,  ///< present in every file of its versions
    kPerNode,   ///< required, and one entry per node
    kOptional,  ///< may be absent: then it is empty
  };
  const char* name;
  int since_version = 1;  ///< files of earlier versions lack it: it is empty, and must be
  Rule rule = kRequired;
};

/// Calls visit(const FieldInfo&, member) for every field of `arrays` (a ModelArrays, const or
/// not), format_version first, then in file order. Saving, loading, validation and the Python
/// bindings (dicts, pickles) all walk this list: a new field is added here and nowhere else.
template <class Arrays, class Visit>
void for_each_field(Arrays& a, Visit&& visit) {
  static_assert(std::is_same_v<std::remove_const_t<Arrays>, ModelArrays>, "for_each_field walks a ModelArrays");
  using F = FieldInfo;
  visit(F{"format_version"}, a.format_version);
  visit(F{"objective"}, a.objective);
  visit(F{"aggregation"}, a.aggregation);
  visit(F{"n_features"}, a.n_features);
  visit(F{"n_outputs"}, a.n_outputs);
  visit(F{"leaf_dim"}, a.leaf_dim);
  visit(F{"max_bins"}, a.max_bins);
  visit(F{"base_score"}, a.base_score);
  visit(F{"edge_offsets"}, a.edge_offsets);
  visit(F{"edges"}, a.edges);
  visit(F{"tree_offsets"}, a.tree_offsets);
  visit(F{"feature", 1, F::kPerNode}, a.feature);
  visit(F{"bin", 1, F::kPerNode}, a.bin);
  visit(F{"left", 1, F::kPerNode}, a.left);
  visit(F{"right", 1, F::kPerNode}, a.right);
  visit(F{"default_left", 1, F::kPerNode}, a.default_left);
  visit(F{"threshold", 1, F::kPerNode}, a.threshold);
  visit(F{"count", 1, F::kPerNode}, a.count);
  visit(F{"cover", 1, F::kPerNode}, a.cover);
  visit(F{"gain", 1, F::kPerNode}, a.gain);
  visit(F{"value"}, a.value);
  visit(F{"tree_weight", 1, F::kOptional}, a.tree_weight);
  visit(F{"split_kind", 2, F::kPerNode}, a.split_kind);
  visit(F{"cat_offsets", 2}, a.cat_offsets);
  visit(F{"cat_words", 2}, a.cat_words);
}

}  // namespace treeforge
