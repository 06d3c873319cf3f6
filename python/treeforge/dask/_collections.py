"""Dask collections as a distributed fit's row blocks (checked, aligned, persisted and found on the
workers holding them), the bins' sample gathered by global row id, and predictions mapped over blocks."""

from typing import NamedTuple

import numpy as np

from ..ensemble._base import new_bin_mapper


class Block(NamedTuple):
    """One block of rows of a fit: futures of its X, y and weights (or None) on the worker that holds
    its X, and its first row's global id."""

    X: object
    y: object
    weight: object
    offset: int
    n_rows: int
    worker: str


def resolve_client(client):
    """The ``distributed.Client`` to fit with: the given one, or the current one (``get_client``)."""
    from distributed import Client, get_client

    if client is None:
        try:
            return get_client()
        except ValueError:
            raise ValueError("treeforge.dask needs a Dask client: pass client=, or start a "
                             "distributed.Client first") from None
    if not isinstance(client, Client):
        raise TypeError(f"client must be a distributed.Client, got {_type_name(client)}")
    if client.status != "running":
        raise ValueError(f"the Dask client given is {client.status!r}, not running")
    return client


def _type_name(value):
    return f"{type(value).__module__}.{type(value).__name__}"


def as_dask_matrix(X, what="X"):
    """X as a 2-D float dask array of known row chunks and one column chunk, and its feature names
    (a dask DataFrame's string column names, else None)."""
    import dask.array as da
    import dask.dataframe as dd

    names = None
    if isinstance(X, dd.DataFrame):
        columns = list(X.columns)
        names = np.asarray(columns, dtype=object) if all(isinstance(c, str) for c in columns) else None
        X = X.to_dask_array(lengths=True)
    elif not isinstance(X, da.Array):
        raise TypeError(f"{what} must be a dask.array.Array or a dask.dataframe.DataFrame, got {_type_name(X)}: "
                        "fit a treeforge estimator on it instead, or wrap it with dask.array.from_array")
    if X.ndim != 2:
        raise ValueError(f"{what} must be 2-dimensional, got {X.ndim} dimensions")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
        raise ValueError(f"{what} must hold numbers (categorical features are not supported on Dask yet), "
                         f"got dtype {X.dtype}")
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    X = X.astype(np.float32 if X.dtype == np.float32 else np.float64)
    return X.rechunk({1: -1}), names


def as_dask_vector(v, row_chunks, what, dtype=np.float64):
    """v (a dask array of one column or a dask Series) as a 1-D dask array chunked as X's rows, of
    ``dtype`` (None: its own)."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(v, dd.Series):
        v = v.to_dask_array(lengths=True)
    elif isinstance(v, dd.DataFrame) and len(v.columns) == 1:
        v = v.to_dask_array(lengths=True)
    elif not isinstance(v, da.Array):
        raise TypeError(f"{what} must be a dask.array.Array or a dask.dataframe.Series (as X), got {_type_name(v)}")
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1:
        raise ValueError(f"{what} must be 1-dimensional, got shape {v.shape}")
    if any(np.isnan(c) for c in v.chunks[0]):
        v = v.compute_chunk_sizes()
    if v.shape[0] != sum(row_chunks):
        raise ValueError(f"X has {sum(row_chunks)} rows but {what} has {v.shape[0]}")
    if dtype is not None:
        v = v.astype(dtype)
    return v.rechunk((row_chunks,))


def dask_query_begin(qid, row_chunks):
    """Where each query's rows begin (+ the rows' count) from a dask vector of query ids chunked as
    X's rows: the ids sorted (as the single-machine ranker would order the rows) and each query in
    one block, so that a worker holds whole queries; ValueError naming the first block that is not.
    One pass over the blocks where they are; only the queries' sizes come back."""
    import dask

    qid = as_dask_vector(qid, row_chunks, "qid", dtype=None)
    runs = dask.compute(*[dask.delayed(_query_runs)(block) for block in qid.to_delayed().ravel()])
    last = None
    for i, (sizes, first, end, is_sorted) in enumerate(runs):
        if not is_sorted:
            raise ValueError(f"qid must be sorted (rows grouped by query, ids increasing), but block {i} of the rows "
                             "is not: sort the rows by qid")
        if sizes.size and last is not None and not last < first:
            what = f"query {first!r} spans two blocks" if last == first else "qid decreases from one block to the next"
            raise ValueError(f"qid must be sorted with each query's rows in one block, but {what} (block {i}): "
                             "rechunk the rows at query boundaries")
        last = end if sizes.size else last
    sizes = np.concatenate([run[0] for run in runs])
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _query_runs(block):
    """(sizes of the block's runs of equal ids, first id, last id, whether the ids never decrease)."""
    q = np.asarray(block).reshape(-1)
    if q.size == 0:
        return np.zeros(0, dtype=np.int64), None, None, True
    change = np.flatnonzero(q[1:] != q[:-1]) + 1
    sizes = np.diff(np.concatenate([[0], change, [q.size]])).astype(np.int64)
    return sizes, q[0].item(), q[-1].item(), bool(np.all(q[1:] >= q[:-1]))


def placed_blocks(client, X, y, weight):
    """Persists X, y and the weights on the cluster: (the blocks of rows (empty ones left out) with
    the worker holding each block of X, where the fit trains it; the persisted arrays)."""
    from distributed import futures_of, wait

    arrays = [X, y] if weight is None else [X, y, weight]
    persisted = client.persist(arrays)
    wait(persisted)
    by_key = {future.key: future for array in persisted for future in futures_of(array)}
    x_keys = [row[0] for row in persisted[0].__dask_keys__()]
    y_keys = list(persisted[1].__dask_keys__())
    w_keys = list(persisted[2].__dask_keys__()) if weight is not None else [None] * len(x_keys)
    holders = client.who_has([by_key[key] for key in x_keys])
    blocks, offset = [], 0
    for i, n_rows in enumerate(X.chunks[0]):
        if n_rows > 0:
            where = sorted(holders.get(x_keys[i]) or ())
            if not where:
                raise RuntimeError(f"no worker holds block {i} of X after persisting it (did a worker leave?)")
            blocks.append(Block(by_key[x_keys[i]], by_key[y_keys[i]], by_key.get(w_keys[i]), offset, int(n_rows),
                                where[0]))
        offset += int(n_rows)
    return blocks, persisted


def fitted_bin_mapper(X, max_bins, seed, n_threads):
    """The single-machine bins of X: the rows its mapper would sample (by global row id) gathered
    here and fitted alone, which gives the same edges (a feature's edges come from its sorted
    sample values)."""
    mapper = new_bin_mapper(max_bins, seed)
    rows = np.sort(np.asarray(mapper.sample_rows(int(X.shape[0])), dtype=np.int64))
    sample = X.compute() if rows.size == 0 else X[rows].compute()
    return mapper.fit(np.ascontiguousarray(sample), n_threads)


def map_row_blocks(X, predict_block, n_columns, dtype=np.float64, what="X"):
    """``predict_block(rows) -> ndarray`` over the blocks of rows of a dask array or DataFrame, as a
    dask array of shape (n_rows,) (``n_columns`` None) or (n_rows, n_columns), or for a
    DataFrame a dask Series or DataFrame of the same index."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(X, dd.DataFrame):
        return X.map_partitions(_frame_block, predict_block, n_columns, meta=_frame_meta(n_columns, dtype))
    if not isinstance(X, da.Array):
        raise TypeError(f"{what} must be a dask.array.Array or a dask.dataframe.DataFrame, got {_type_name(X)}")
    if X.ndim != 2:
        raise ValueError(f"{what} must be 2-dimensional, got {X.ndim} dimensions")
    X = X.rechunk({1: -1})
    if n_columns is None:
        return X.map_blocks(predict_block, drop_axis=1, dtype=dtype, meta=np.empty((0,), dtype=dtype))
    return X.map_blocks(predict_block, chunks=(X.chunks[0], (n_columns,)), dtype=np.float64,
                        meta=np.empty((0, n_columns), dtype=np.float64))


def _frame_block(frame, predict_block, n_columns):
    import pandas as pd

    values = predict_block(frame)
    if n_columns is None:
        return pd.Series(values, index=frame.index)
    return pd.DataFrame(values, index=frame.index, columns=list(range(n_columns)))


def _frame_meta(n_columns, dtype):
    import pandas as pd

    if n_columns is None:
        return pd.Series([], dtype=dtype)
    return pd.DataFrame({c: pd.Series([], dtype=np.float64) for c in range(n_columns)})
