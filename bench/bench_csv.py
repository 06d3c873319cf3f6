"""CSV loading: the command line's reader (pyarrow's multithreaded parser + float64 matrix) beside pandas.read_csv.

The file is the ``binary`` task (800,000 + 200,000 rows, 28 features: 1,000,000 x 28) written once
as float32 text (shortest round-trip digits, about 320 MB) plus an integer label column, cached
beside the task's arrays. Each case parses the file and builds the (n, 28) float64 matrix the
estimators take: treeforge through ``treeforge.cli._tabular.read_csv`` + ``features_matrix`` (what ``treeforge
train`` does, the column checks included), pandas through ``read_csv`` (C engine) +
``to_numpy`` (C order). In-process, cases round-robin, medians of ``--repeats`` after one warm-up round.

    python bench/bench_csv.py --no-write                    # 1,000,000 x 28
    python bench/bench_csv.py --rows-scale 0.1 --no-write   # quick
"""

import argparse
import os

import numpy as np

import common

TARGET = "label"


def csv_path(task):
    n_rows = task.n_train + task.n_test
    return os.path.join(common.CACHE_DIR, f"{task.name}-{n_rows}x{task.n_features}-v{common.GENERATOR_VERSION}.csv")


def ensure_csv(task):
    """Write the task's rows as CSV unless cached; returns the path."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = csv_path(task)
    if os.path.exists(path):
        return path
    X_train, y_train, X_test, y_test = common.load_task(task)
    X, y = np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])
    columns = {f"f{j}": pa.array(X[:, j].astype(np.float32)) for j in range(X.shape[1])}
    columns[TARGET] = pa.array(y.astype(np.int64))
    temp_path = f"{path}.{os.getpid()}.tmp"
    pacsv.write_csv(pa.table(columns), temp_path)
    os.replace(temp_path, path)  # atomic: a concurrent run never reads a half-written file
    common.log(f"wrote {path} ({os.path.getsize(path) / 2 ** 20:.0f} MiB)")
    return path


def treeforge_case(path):
    from treeforge.cli._tabular import features_matrix, infer_schema, read_csv

    def run():
        stages = {}
        stages["parse"] = common.timed(lambda: stages.setdefault("_read", read_csv(path)))
        table, source = stages.pop("_read")
        schema = infer_schema(table, source, TARGET, [], None, [])
        stages["matrix"] = common.timed(lambda: features_matrix(table, source, schema))
        return stages
    return run


def pandas_case(path):
    import pandas as pd

    def run():
        stages = {}
        stages["parse"] = common.timed(lambda: stages.setdefault("_frame", pd.read_csv(path)))
        frame = stages.pop("_frame")
        # C order, as the estimators take it (a frame's block is column-major: to_numpy alone is a view)
        stages["matrix"] = common.timed(
            lambda: np.ascontiguousarray(frame.drop(columns=[TARGET]).to_numpy(dtype=np.float64)))
        return stages
    return run


def main():
    parser = common.add_common_args(argparse.ArgumentParser(description=__doc__), rounds=False)
    args = parser.parse_args()
    task = common.TASKS["binary"].scaled(args.rows_scale)
    path = ensure_csv(task)
    n_rows = task.n_train + task.n_test
    medians = common.interleaved_medians({"treeforge (pyarrow)": treeforge_case(path), "pandas": pandas_case(path)},
                                         args.repeats)
    totals = {name: sum(stages.values()) for name, stages in medians.items()}
    rows = [[name, f"{stages['parse']:.2f}", f"{stages['matrix']:.2f}", f"{totals[name]:.2f}",
             f"{n_rows / totals[name] / 1e6:.2f}", f"{totals['pandas'] / totals[name]:.2f}"]
            for name, stages in medians.items()]
    body = common.markdown_table(["reader", "parse (s)", "to float64 matrix (s)", "total (s)", "M rows/s",
                                  "speed-up vs pandas"], rows)
    notes = [f"file: {n_rows:,} rows x {task.n_features} float32 features + label, "
             f"{os.path.getsize(path) / 2 ** 20:.0f} MiB; medians of {args.repeats} repeats"]
    common.finish_section(args, "csv", "CSV loading", ["treeforge", "pyarrow", "pandas"], body, notes)


if __name__ == "__main__":
    main()
