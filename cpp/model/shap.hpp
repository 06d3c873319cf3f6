// TreeSHAP: exact path-dependent SHAP contributions of a model's features to its raw margin.
#pragma once

#include "core/common.hpp"
#include "model/model.hpp"

namespace treeforge {

/// out (n_rows, n_outputs, n_features + 1) row-major: for each row and margin column, the SHAP
/// value of each feature, then the expected value in the last slot; each row's values summed
/// equal predict_margin of the row (the raw margin, before any link), up to rounding.
///
/// Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018): a feature absent from a coalition
/// is integrated out along the tree's own paths, each child weighted by its share of the parent's
/// cover (training hessians for boosting, weights for forests), as XGBoost's pred_contribs and
/// LightGBM's pred_contrib do; computed as an integral by Gauss-Legendre quadrature, exact here
/// (QuadratureWalk in shap.cpp), chosen by measurement over their Algorithm 2 (0.51x its time on
/// 255-leaf trees; shap_contributions_by_paths below). A row's branch at a split is the one
/// goes_left (model/split.hpp) picks for its raw value, as in prediction: numeric thresholds,
/// category sets, missing values by the default direction. The expected value is the base score
/// plus each tree's cover-weighted mean leaf value. Sums follow the model's aggregation (a mean
/// for forests); AdaBoost.R2's weighted median has no additive form and is refused.
/// Rows are independent and each sums its trees in order: the result is the same for any n_threads.
template <class T>
void shap_contributions(const Model& model, MatrixView<const T> X, Span<double> out, int n_threads);

/// out (n_rows, n_outputs, n_features + 1, n_features + 1) row-major: SHAP interaction values
/// (Lundberg et al. 2020, as XGBoost's pred_interactions): off the diagonal, half the difference
/// between feature j's contribution with feature i held present (the row's branch at i's splits)
/// and absent (i's splits integrated out by cover), symmetric; on it, feature i's contribution
/// minus its interactions, so each row of the matrix sums to shap_contributions' value; the
/// expected value at [n_features][n_features], zeros in the rest of that row and column.
/// A tree adds only to the rows of the features it splits on.
/// shap_contributions by Lundberg, Erion & Lee's path algorithm (Algorithm 2, PathWalk) instead of
/// quadrature: the same values to rounding, about twice the time on 255-leaf trees; kept as the
/// tests' second opinion (and run by shap_interactions' conditioned walks).
template <class T>
void shap_contributions_by_paths(const Model& model, MatrixView<const T> X, Span<double> out, int n_threads);

template <class T>
void shap_interactions(const Model& model, MatrixView<const T> X, Span<double> out, int n_threads);

}  // namespace treeforge
