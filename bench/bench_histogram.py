"""Histogram building: treeforge's kernel (through ``_core._testing.build_histogram``) beside scikit-learn's.

For node sizes of 100 %, 50 %, 10 % and 1 % of the training rows (sorted random subsets, as a
partition leaves them), both libraries sum gradient, hessian and count per (feature, bin) over
the same codes and the same non-constant gradients. scikit-learn's ``HistogramBuilder`` (private)
gathers the node's gradients first, as in its grower. The treeforge binding converts grad/hess
to float pairs and the row list before calling the kernel, with 2 threads fixed; the
"1-feature matrix" row times the same call on one column, an estimate of that conversion floor.
LightGBM and XGBoost expose no histogram kernel; their per-tree cost is in bench_grower.py.

    python bench/bench_histogram.py
    python bench/bench_histogram.py --rows-scale 0.05 --repeats 3 --no-write
"""

import numpy as np

import common

FRACTIONS = [1.0, 0.5, 0.1, 0.01]
TREEFORGE_THREADS = 2  # fixed by the _testing binding


def node_rows(n_rows, fraction, seed=0):
    if fraction == 1.0:
        return np.arange(n_rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=max(1, int(n_rows * fraction)), replace=False))


def main(argv=None):
    args = common.component_parser(__doc__, repeats=7).parse_args(argv)  # --threads: scikit-learn's

    from sklearn.ensemble._hist_gradient_boosting.histogram import HistogramBuilder
    from treeforge import _core

    rows = []
    for name in args.tasks:
        task = common.TASKS[name].scaled(args.rows_scale)
        X, y, _, _ = common.load_task(task)
        mapper = _core.BinMapper(255, 200_000, 0).fit(X, 2)
        binned = mapper.transform(X, 2)
        binned_one = _core.BinMapper(255, 200_000, 0).fit(X[:, :1], 2).transform(np.ascontiguousarray(X[:, :1]), 2)
        codes = np.asfortranarray(binned.codes())  # the same codes for both libraries (missing bin <= 255)
        grad, hess = common.logistic_gradients(y)
        grad64, hess64 = grad.astype(np.float64), hess.astype(np.float64)
        for fraction in FRACTIONS:
            idx = node_rows(len(y), fraction)
            tf_rows = None if fraction == 1.0 else idx.astype(np.int64)
            sk_rows = idx.astype(np.uint32)
            # Keyed by (library, threads); the 1-feature case estimates the binding's conversion floor.
            ref_key = ("treeforge", TREEFORGE_THREADS)
            cases = {
                ref_key: lambda: {"t": common.timed(
                    lambda: _core._testing.build_histogram(binned, grad64, hess64, tf_rows))},
                ("treeforge (1-feature matrix)", TREEFORGE_THREADS): lambda: {"t": common.timed(
                    lambda: _core._testing.build_histogram(binned_one, grad64, hess64, tf_rows))},
            }
            for threads in args.threads:
                builder = HistogramBuilder(codes, 256, grad, hess, False, threads)
                cases[("sklearn", threads)] = (
                    lambda b=builder: {"t": common.timed(lambda: b.compute_histograms_brute(sk_rows))})
            medians = common.interleaved_medians(cases, args.repeats)
            ref = medians[ref_key]["t"]
            for (lib, threads), m in medians.items():
                rows.append([f"{name}: {len(idx):,} rows ({fraction:.0%})", lib, threads, f"{m['t'] * 1e3:.2f}",
                             f"{len(idx) * task.n_features / m['t'] / 1e6:,.0f}",
                             common.ratio(ref, m["t"]) if lib == "sklearn" else "—"])
            common.log(f"{name} {fraction:.0%}: " + ", ".join(f"{lib}/{t} {m['t'] * 1e3:.2f} ms"
                                                              for (lib, t), m in medians.items()))
    table = common.markdown_table(["node", "library", "threads", "ms", "M row-features / s", "treeforge/peer"], rows)
    notes = [f"medians of {args.repeats} calls after one warm-up, round-robin, one process",
             "treeforge through _core._testing.build_histogram: includes the binding's O(rows) conversion "
             f"of grad/hess and rows, {TREEFORGE_THREADS} threads fixed; the 1-feature row estimates that floor"]
    common.finish_section(args, "histogram", "histogram: one node's gradient sums", ["treeforge", "sklearn"],
                          table, notes)


if __name__ == "__main__":
    main()
