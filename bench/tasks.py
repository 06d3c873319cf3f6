"""The benchmark's synthetic tasks: ``Task``, ``TASKS`` and their seeded, chunked generators (no I/O).

Pure functions of (task, seed): ``common.py`` caches what ``generate`` returns as ``.npy`` files
keyed by ``GENERATOR_VERSION``, so any change to the data here must bump it.
"""

from dataclasses import dataclass, replace

import numpy as np

# Bump whenever a generator changes, so that stale cached arrays are never reused.
GENERATOR_VERSION = 2
_CHUNK_ROWS = 250_000  # rows are generated in seeded chunks: bounded memory, and n rows are a prefix of more
_MISSING_SEED = 7_000_000  # chunk seeds of the NaN mask: same data as `binary`, other stream
_STRUCTURE_SEED = 9_000_000  # seed of a generator's fixed coefficients, shared by all its chunks


@dataclass(frozen=True)
class Task:
    """A deterministic synthetic dataset: ``n_train`` + ``n_test`` rows from ``generator(n, seed)``."""

    name: str
    kind: str  # "binary" | "multiclass" | "regression"
    n_train: int
    n_test: int
    n_features: int
    n_classes: int = 0
    missing_fraction: float = 0.0
    seed: int = 0
    generator: str = ""  # a generator of _GENERATORS other than the kind's own
    in_default_run: bool = True  # False: only when asked by name (hours-long tasks)

    def scaled(self, rows_scale=1.0, n_train=None, n_test=None):
        """The same task with other row counts: ``n_train``/``n_test`` or both times ``rows_scale``."""
        n_train = self.n_train if n_train is None else n_train
        n_test = self.n_test if n_test is None else n_test
        return replace(self, n_train=max(100, round(n_train * rows_scale)),
                       n_test=max(100, round(n_test * rows_scale)))

    def describe(self):
        return f"{self.n_train:,} train × {self.n_features}, {self.n_test:,} test"


TASKS = {
    "binary": Task("binary", "binary", 800_000, 200_000, 28),
    "binary_missing": Task("binary_missing", "binary", 800_000, 200_000, 28, missing_fraction=0.1),
    "regression": Task("regression", "regression", 320_000, 80_000, 50),
    "multiclass": Task("multiclass", "multiclass", 128_000, 32_000, 40, n_classes=8),
    # Issue #27's wide data: 2,000 dense columns, 300 of them informative.
    "wide": Task("wide", "binary", 200_000, 50_000, 2000, generator="wide", in_default_run=False),
}


def _four_vector(pt, eta, phi):
    """(4, n) massless four-momenta (E, px, py, pz) from transverse momentum, pseudorapidity, angle."""
    return np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)])


def _mass(*vectors):
    total = sum(vectors)
    return np.sqrt(np.maximum(total[0] ** 2 - total[1] ** 2 - total[2] ** 2 - total[3] ** 2, 0.0))


def _higgs_like_chunk(rng, n):
    """HIGGS-like rows: 21 low-level kinematics (lepton, missing energy, 4 jets with b-tags) + 7 masses.

    Returns X (n, 28) float64 and the raw score (n,) whose sigmoid gives P(y=1): resonance bumps in
    the masses, angle differences times momenta, sign interactions, b-tag couplings.
    """
    lep = (rng.lognormal(0.0, 0.5, n), rng.normal(0.0, 1.1, n), rng.uniform(-np.pi, np.pi, n))
    met, met_phi = rng.lognormal(-0.2, 0.6, n), rng.uniform(-np.pi, np.pi, n)
    columns, jets, btags = [*lep, met, met_phi], [], []
    for j in range(4):
        jet = (rng.lognormal(0.1 - 0.15 * j, 0.55, n), rng.normal(0.0, 1.2, n), rng.uniform(-np.pi, np.pi, n))
        btag = rng.choice([0.0, 1.09, 2.17], size=n, p=[0.5, 0.3, 0.2])
        jets.append(jet)
        btags.append(btag)
        columns += [*jet, btag]
    v_lep, v_met = _four_vector(*lep), _four_vector(met, np.zeros(n), met_phi)
    v_jet = [_four_vector(*jet) for jet in jets]
    masses = [_mass(v_jet[0], v_jet[1]), _mass(*v_jet[:3]), _mass(v_lep, v_met), _mass(v_jet[0], v_lep, v_met),
              _mass(v_jet[2], v_jet[3]), _mass(*v_jet[1:]), _mass(*v_jet, v_lep, v_met)]
    m_jj, m_jjj, m_lv, m_jlv, m_bb, m_wbb, m_wwbb = masses
    score = (1.2 * np.exp(-(((m_bb - 1.25) / 0.35) ** 2)) * (1 + 0.5 * (btags[2] + btags[3]) / 2.17)
             + 0.9 * np.exp(-(((m_lv - 0.8) / 0.3) ** 2))
             + 0.7 * np.cos(lep[2] - met_phi) * np.log(lep[0] * met + 0.1)
             + 0.6 * np.cos(jets[0][2] - jets[1][2]) * np.tanh(jets[0][1] * jets[1][1])
             + 0.5 * np.sign(lep[1]) * np.sign(jets[0][1]) * np.minimum(jets[0][0], 2.0)
             + 0.4 * np.sin(1.5 * np.log(m_wwbb + 0.1)) * (btags[0] - btags[1])
             + 0.3 * np.log(m_jjj + 0.1) * np.cos(jets[2][2] - lep[2])
             + 0.5 * np.tanh(m_wbb - m_jlv) + 0.2 * np.tanh(m_jj - 2.0))
    return np.column_stack(columns + masses), score


_LOG_COLUMNS = [0, 3, 5, 9, 13, 17, *range(21, 28)]  # momenta and masses, seen on a log scale
_N_WEAK_TERMS = 80


def _log_features(X):
    Z = X.copy()
    Z[:, _LOG_COLUMNS] = np.log(Z[:, _LOG_COLUMNS] + 0.1)
    return Z


def _weak_terms(X, s):
    """Sum of many weak random pairwise terms sin(a z_i + b) tanh(c z_j) of standardised features.

    No single split captures them, so 200 trees of 255 leaves keep improving on 800,000 rows.
    """
    Z = (_log_features(X) - s["z_mean"]) / s["z_std"]
    total = np.zeros(len(X))
    for i, j, a, b, c, w in zip(s["i"], s["j"], s["a"], s["b"], s["c"], s["w"]):
        total += w * np.sin(a * Z[:, i] + b) * np.tanh(c * Z[:, j])
    return total / np.sqrt(len(s["w"]))


def _binary_structure(seed):
    """Random weak terms, and the standardisation, centre and scale measured on a calibration chunk."""
    rng = np.random.default_rng([seed, _STRUCTURE_SEED])
    k = _N_WEAK_TERMS
    s = {"i": rng.choice(28, k), "j": rng.choice(28, k), "a": rng.uniform(1.0, 4.0, k),
         "b": rng.uniform(0.0, 2 * np.pi, k), "c": rng.uniform(0.5, 2.0, k), "w": rng.normal(0.0, 1.0, k)}
    X, physics = _higgs_like_chunk(rng, 100_000)
    Z = _log_features(X)
    s["z_mean"], s["z_std"] = Z.mean(axis=0), Z.std(axis=0)
    score = physics + 3.0 * _weak_terms(X, s)
    # Balanced classes and a logit of standard deviation 3.
    s["centre"], s["scale"] = float(np.median(score)), 3.0 / float(score.std())
    return s


def _binary_chunk(rng, n, s):
    X, physics = _higgs_like_chunk(rng, n)
    logit = (physics + 3.0 * _weak_terms(X, s) - s["centre"]) * s["scale"]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    flip = rng.random(n) < 0.05  # label noise: the Bayes AUC stays well below 1
    y[flip] = 1 - y[flip]
    return X, y


def _regression_structure(seed):
    rng = np.random.default_rng([seed, _STRUCTURE_SEED])
    return {"pairs": rng.choice(50, size=(20, 2)), "pair_coef": rng.normal(0, 1, 20),
            "tanh_coef": rng.normal(0, 1, 50), "mix": rng.normal(0, 0.5, (40, 10))}


def _regression_chunk(rng, n, s):
    """50 features (30 normal, 10 uniform, 10 correlated); target: Friedman-1 + products + tanh + noise."""
    base = np.column_stack([rng.normal(0, 1, (n, 30)), rng.uniform(0, 1, (n, 10))])
    X = np.column_stack([base, base @ s["mix"] + rng.normal(0, 0.3, (n, 10))])
    u = X[:, 30:35]
    f = (10 * np.sin(np.pi * u[:, 0] * u[:, 1]) + 20 * (u[:, 2] - 0.5) ** 2 + 10 * u[:, 3] + 5 * u[:, 4]
         + (X[:, s["pairs"][:, 0]] * X[:, s["pairs"][:, 1]]) @ s["pair_coef"]
         + np.tanh(X) @ s["tanh_coef"] + 3 * (X[:, 0] > 0.5) * (X[:, 1] < -0.2))
    return X, f + rng.normal(0, 2.0, n)


def _multiclass_structure(seed):
    rng = np.random.default_rng([seed, _STRUCTURE_SEED])
    return {"w_in": rng.normal(0, 0.45, (40, 16)), "w_out": rng.normal(0, 1.0, (16, 8)),
            "pairs": rng.choice(40, size=(8, 2))}


def _multiclass_chunk(rng, n, s):
    """40 normal features; 8 classes drawn from the softmax of a random one-hidden-layer network + products."""
    X = rng.normal(0, 1, (n, 40))
    logits = 2.0 * np.tanh(X @ s["w_in"]) @ s["w_out"] + 0.7 * X[:, s["pairs"][:, 0]] * X[:, s["pairs"][:, 1]]
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)  # Gumbel-max: a draw from the softmax
    return X, y.astype(np.int64)


_WIDE_COLUMNS, _WIDE_INFORMATIVE, _WIDE_PAIRS = 2000, 300, 100


def _wide_logit(X, s):
    Z = X[:, s["columns"]]
    pairs = Z[:, s["pairs"][:, 0]] * Z[:, s["pairs"][:, 1]]
    return np.tanh(Z * s["a"]) @ s["w"] + pairs @ s["pair_w"]


def _wide_structure(seed):
    """Which 300 of the 2,000 columns matter, their weights and shapes, 100 products among them, and
    the centre and scale (a logit of standard deviation 3, balanced classes) from a calibration chunk."""
    rng = np.random.default_rng([seed, _STRUCTURE_SEED])
    s = {"columns": rng.choice(_WIDE_COLUMNS, _WIDE_INFORMATIVE, replace=False),
         "w": rng.normal(0.0, 1.0, _WIDE_INFORMATIVE), "a": rng.uniform(0.5, 2.0, _WIDE_INFORMATIVE),
         "pairs": rng.choice(_WIDE_INFORMATIVE, size=(_WIDE_PAIRS, 2)), "pair_w": rng.normal(0.0, 0.7, _WIDE_PAIRS)}
    logit = _wide_logit(rng.normal(0.0, 1.0, (20_000, _WIDE_COLUMNS)), s)
    s["centre"], s["scale"] = float(np.median(logit)), 3.0 / float(logit.std())
    return s


def _wide_chunk(rng, n, s):
    """2,000 normal features; the label drawn from the logistic of 300 of them, with 5 % flipped."""
    X = rng.normal(0.0, 1.0, (n, _WIDE_COLUMNS))
    logit = (_wide_logit(X, s) - s["centre"]) * s["scale"]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    flip = rng.random(n) < 0.05
    y[flip] = 1 - y[flip]
    return X, y


_GENERATORS = {  # name (a task's generator, else its kind) -> (structure from seed, chunk from (rng, n, structure))
    "binary": (_binary_structure, _binary_chunk),
    "regression": (_regression_structure, _regression_chunk),
    "multiclass": (_multiclass_structure, _multiclass_chunk),
    "wide": (_wide_structure, _wide_chunk),
}


def generate(task):
    """(X (n, n_features) float64, y (n,)) of the whole task; NaN where ``missing_fraction`` says."""
    structure_fn, chunk_fn = _GENERATORS[task.generator or task.kind]
    structure = structure_fn(task.seed)
    n = task.n_train + task.n_test
    parts = [chunk_fn(np.random.default_rng([task.seed, i]), min(_CHUNK_ROWS, n - start), structure)
             for i, start in enumerate(range(0, n, _CHUNK_ROWS))]
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    if task.missing_fraction:
        for i, start in enumerate(range(0, n, _CHUNK_ROWS)):
            block = X[start:start + _CHUNK_ROWS]
            block[np.random.default_rng([task.seed, _MISSING_SEED, i]).random(block.shape) < task.missing_fraction] = np.nan
    return np.ascontiguousarray(X), y
