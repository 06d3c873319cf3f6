"""A distributed fit's work: the base score folded over the row blocks in order, the ring its workers
reduce through (listened, then joined), and each worker's booster on the rows it holds."""

import math
import secrets
import threading
import time
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np

from .. import _core

# Rows per block of the core's weighted mean of the labels (objectives/objective.hpp,
# weighted_mean_of_runs): each block is summed row by row, then the blocks' sums in order.
_MEAN_BLOCK = 1 << 14

# The rings listening on this worker between the two steps of the rendezvous, by fit token.
_RINGS = {}
_RINGS_LOCK = threading.Lock()


class MeanState(NamedTuple):
    """The core's blocked weighted mean of y, carried over the rows in order: the rows seen, the sums
    of the blocks done (added in block order) and those of the block open."""

    n_seen: int = 0
    done_sum: float = 0.0
    done_weight: float = 0.0
    open_sum: float = 0.0
    open_weight: float = 0.0

    def mean(self):
        total, weight = self.done_sum + self.open_sum, self.done_weight + self.open_weight
        return total / weight if weight > 0 else 0.0


def _running_sum(start, values):
    """start + values[0] + values[1] + ..., added one at a time left to right, as the core does
    (``np.add.accumulate`` never pairs; ``np.sum`` would)."""
    return float(np.add.accumulate(np.concatenate(([start], values)))[-1])


def fold_mean(state, y, weight, of_class=None):
    """(On a worker) ``state`` carried over the next rows ``y`` (and their weights, or None): the
    sums the core's ``weighted_mean`` forms, to the bit.

    Parameters
    ----------
    state : MeanState
    y : ndarray of shape (n_rows,), float64
    weight : ndarray of shape (n_rows,), float64, or None
    of_class : int or None
        The mean of ``y == of_class`` (1.0 or 0.0: a class's prior), else of y.

    Returns
    -------
    state : MeanState
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if of_class is not None:
        y = (y == of_class).astype(np.float64)
    terms = y if weight is None else np.asarray(weight, dtype=np.float64) * y
    weights = np.ones_like(y) if weight is None else np.asarray(weight, dtype=np.float64)
    n_seen, done_sum, done_weight, open_sum, open_weight = state
    at = 0
    while at < y.shape[0]:
        end = min(y.shape[0], at + _MEAN_BLOCK - n_seen % _MEAN_BLOCK)
        open_sum = _running_sum(open_sum, terms[at:end])
        open_weight = _running_sum(open_weight, weights[at:end])
        n_seen += end - at
        at = end
        if n_seen % _MEAN_BLOCK == 0:  # a block done: its sums join the others in order
            done_sum, done_weight, open_sum, open_weight = done_sum + open_sum, done_weight + open_weight, 0.0, 0.0
    return MeanState(n_seen, done_sum, done_weight, open_sum, open_weight)


def base_score(client, blocks, objective, n_classes=0):
    """The objective's base score of the labels of ``blocks`` (in global row order), the
    single-machine one: a chain of tasks, each on the worker holding its labels, folds the mean
    (of each class, for ``n_classes`` > 2: the log of its prior, as the softmax objective's)."""
    classes = list(range(n_classes)) if n_classes > 2 else [None]
    states = [MeanState()] * len(classes)
    for block in blocks:
        states = [client.submit(fold_mean, state, block.y, block.weight, c, pure=False)
                  for state, c in zip(states, classes)]
    means = [state.mean() for state in client.gather(states)]
    if n_classes > 2:  # objectives/multiclass_softmax.cpp: std::log of the prior (the same libm log)
        return [math.log(max(mean, 1e-15)) for mean in means]
    return _core.objective_base_score(objective, 1, means)


def worker_host(address):
    """The host of a Dask worker's address (``tcp://host:port``); ValueError for another protocol."""
    parts = urlsplit(address)
    if parts.scheme not in ("tcp", "tls") or not parts.hostname:
        raise ValueError(f"treeforge.dask needs workers reached over TCP, got the worker address {address!r}")
    return parts.hostname


def open_ring(token, host, timeout):
    """(On a worker) Listens for fit ``token``'s ring; returns the port."""
    ring = _core.TcpRing(host, timeout)
    with _RINGS_LOCK:
        _RINGS[token] = ring
    return ring.port


def drop_ring(token):
    """(On a worker) Closes fit ``token``'s ring if it is still listening (a fit that failed before
    its training task joined it)."""
    with _RINGS_LOCK:
        ring = _RINGS.pop(token, None)
    if ring is not None:
        ring.close()


class Job(NamedTuple):
    """What every worker of a fit is given alike."""

    token: int
    hosts: list
    ports: list
    n_rows: int
    bin_mapper: object
    config: dict
    base_score: list
    max_iter: int
    n_threads: int
    query_begin: object = None  # a ranker's: where each query's rows begin, in global rows (+ the end)


def _worker_threads():
    from distributed import get_worker

    worker = get_worker()
    state = getattr(worker, "state", None)
    return int(getattr(state, "nthreads", None) or getattr(worker, "nthreads", 1))


def train_on_worker(job, rank, parts):
    """(On a worker) Joins the ring as ``rank`` and grows the fit on the rows of ``parts`` (its
    blocks: ``(X, y, weight or None, first global row)``); rank 0 returns the model. Every
    participant grows the same trees; the ring closes when this returns or fails, which ends the
    others' waits at once."""
    ring = joined_ring(job, rank)
    try:
        config, train, y, weight, rows = binned_rows(job, parts, _core.GbdtConfig())
        booster = _core.Booster(config, job.bin_mapper, train, y, weight, base_score=job.base_score, reduction=ring,
                                global_rows=rows, n_global_rows=job.n_rows, **worker_queries(job.query_begin, rows))
        for _ in range(job.max_iter):
            booster.update()  # the GIL released: the worker stays responsive
        model = booster.finish()
        return {"model": model if rank == 0 else None, "stats": ring.stats(), "n_rows": int(y.shape[0])}
    finally:
        ring.close()


def joined_ring(job, rank):
    """(On a worker) The ring this worker listens on for ``job``, joined as ``rank``; closed if joining fails."""
    with _RINGS_LOCK:
        ring = _RINGS.pop(job.token)
    try:
        ring.connect(job.hosts, job.ports, rank, job.token)
    except BaseException:
        ring.close()
        raise
    return ring


def binned_rows(job, parts, config):
    """(On a worker) Its blocks in global row order, binned by the job's mapper with the worker's
    threads: (``config`` filled from the job, binned X, y, weights or None, global row ids)."""
    from ..ensemble._base import make_config

    X, y, weight, rows = joined_rows(parts)
    n_threads = worker_threads(job.n_threads)
    config = make_config(config, {**job.config, "n_threads": n_threads})
    return config, job.bin_mapper.transform(X, n_threads), y, weight, rows


def joined_rows(parts):
    """(On a worker) A worker's blocks ``(X, y, weight or None, first global row)`` in global row
    order as one X, y (float64), weights (or None) and the rows' global ids (int64)."""
    parts = sorted(parts, key=lambda part: part[3])
    X = np.concatenate([np.asarray(part[0]) for part in parts])
    y = np.concatenate([np.asarray(part[1], dtype=np.float64).reshape(-1) for part in parts])
    weight = None
    if parts[0][2] is not None:
        weight = np.concatenate([np.asarray(part[2], dtype=np.float64).reshape(-1) for part in parts])
    rows = np.concatenate([np.arange(part[3], part[3] + len(part[1]), dtype=np.int64) for part in parts])
    return X, y, weight, rows


def worker_queries(query_begin, rows):
    """(On a worker) The Booster's arguments of its queries, from where every query begins in the
    global rows (None: no queries): where each of its queries begins in its rows (+ their count),
    and their global ids, by which subsamples draw them. Its rows are whole blocks, and a block
    holds whole queries."""
    if query_begin is None:
        return {}
    starts = np.asarray(query_begin[:-1], dtype=np.int64)
    at = np.searchsorted(rows, starts)
    mine = at < rows.shape[0]
    mine[mine] = rows[at[mine]] == starts[mine]
    return {"group_begin": np.append(at[mine], rows.shape[0]).astype(np.int64),
            "global_queries": np.flatnonzero(mine).astype(np.int64), "n_global_queries": starts.shape[0]}


def worker_threads(job_threads):
    """The threads a worker's training uses: the job's, else the worker's own."""
    return job_threads or _worker_threads()


def new_token():
    """A fit's token: a peer of another fit connecting by mistake is turned away."""
    return secrets.randbits(63)


def fit_on_workers(client, blocks, make_job, timeout, train=train_on_worker):
    """Runs a fit on the workers holding ``blocks``, one training task each (rank by sorted address),
    after the rendezvous: each listens, then all join the ring. ``make_job(token, hosts, ports)``
    gives the Job. Returns each rank's result. The first failure ends the fit: a worker that
    fails or dies closes its sockets, so the others stop at once (within ``timeout`` if it falls
    silent), and the error raised is the failing worker's own where it said one. ``train(job, rank,
    parts)`` is each worker's task (the booster's ``train_on_worker`` unless given)."""
    workers = sorted({block.worker for block in blocks})
    hosts = [worker_host(worker) for worker in workers]
    token = new_token()
    try:
        ports = client.gather([client.submit(open_ring, token, host, timeout, workers=[worker],
                                             allow_other_workers=False, pure=False)
                               for worker, host in zip(workers, hosts)])
        job = make_job(token, hosts, ports)
        futures = [client.submit(train, job, rank,
                                 [(b.X, b.y, b.weight, b.offset) for b in blocks if b.worker == worker],
                                 workers=[worker], allow_other_workers=False, pure=False)
                   for rank, worker in enumerate(workers)]
        return _results(futures, workers)
    finally:
        # A ring never joined (its training task did not start) is closed; a worker gone took
        # its own along (and asking it would wait for the connection's timeout).
        alive = [worker for worker in workers if worker in client.scheduler_info()["workers"]]
        try:
            client.run(drop_ring, token, workers=alive, on_error="ignore")
        except Exception:  # noqa: BLE001 - the fit's own outcome is what counts
            pass


def _results(futures, workers):
    """The futures' results; on the first failure (an error, or a task cancelled because its
    worker left with data it needed), cancels the others and raises: a worker's own error
    rather than the lost connections it caused, a ConnectionError naming the workers by rank."""
    from distributed import as_completed

    failed = next((future for future in as_completed(futures) if future.status != "finished"), None)
    if failed is None:
        return [future.result() for future in futures]
    # The others see a failed worker's sockets close at once: a short wait finds its own error.
    give_up = time.monotonic() + 2.0
    while any(future.status == "pending" for future in futures) and time.monotonic() < give_up:
        time.sleep(0.05)
    errors = [future.exception() for future in futures if future.status == "error"]
    lost = [rank for rank, future in enumerate(futures) if future.status == "cancelled"]
    own_errors = [error for error in errors if not isinstance(error, ConnectionError)]
    for future in futures:
        future.cancel()
    if own_errors:
        raise own_errors[0]
    ranks = ", ".join(f"{rank} = {worker}" for rank, worker in enumerate(workers))
    if errors:
        raise ConnectionError(f"{errors[0]} (workers by rank: {ranks})") from errors[0]
    raise ConnectionError(f"treeforge distributed fit: the training tasks of ranks {lost} were cancelled: their "
                          f"workers left or lost data the fit needs (workers by rank: {ranks})")
