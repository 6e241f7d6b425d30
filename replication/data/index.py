"""The new-quality-productivity (NQP) index: the entropy-weight method of Table 1.

Steps of :func:`entropy_index` (each an option where applied papers differ):

1. **Direction-aware min-max normalisation** of every indicator j over the
   reference set (all city-years when ``pooled=True``, else each year on its own):
   ``x'_ij = (x_ij - min_j) / (max_j - min_j)`` for a positive indicator,
   ``(max_j - x_ij) / (max_j - min_j)`` for a negative one, then mapped to
   ``norm_range`` (default [0, 1]).
2. **Shift** ``x'' = x' + shift`` so that no share is exactly 0 and ``ln p`` exists
   (default 1e-4; some papers use 0.01 or 1).
3. **Shares** ``p_ij = x''_ij / sum_i x''_ij``.
4. **Entropy** ``e_j = -(1 / ln n) * sum_i p_ij ln p_ij`` (n = rows in the reference set).
5. **Redundancy** ``d_j = 1 - e_j`` and **weights** ``w_j = d_j / sum_k d_k``.
6. **Score** ``s_i = scale * sum_j w_j x''_ij``.

A constant indicator carries no information: its weight is set to 0 with a
warning (its entropy is exactly 1), never NaN.  Because the normalisation and the
weights are fitted on the data, the weights of the same 15 indicators differ from
one data set to the next; :meth:`EntropyIndex.score` applies a fitted index to other
data (e.g. potential outcomes in the simulator) with the same normalisation.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication.data.schema import BY_NAME, INDICATORS


@dataclass
class EntropyIndex:
    """A fitted entropy index: normalisation constants and weights per group."""

    indicators: tuple[str, ...]
    directions: np.ndarray
    pooled: bool
    shift: float
    norm_range: tuple[float, float]
    scale: float
    time: str = field(default="year", kw_only=True)  # the column of the groups when not pooled
    # one row per group ("all" when pooled, else the year): min, max, weights
    mins: pd.DataFrame = field(repr=False)
    maxs: pd.DataFrame = field(repr=False)
    weights_by_group: pd.DataFrame = field(repr=False)
    entropy_by_group: pd.DataFrame = field(repr=False)

    @property
    def weights(self) -> pd.Series:
        """Weights (mean over years when not pooled)."""
        return self.weights_by_group.mean(axis=0).rename("weight")

    def _groups(self, panel: pd.DataFrame) -> pd.Series:
        if self.pooled:
            return pd.Series("all", index=panel.index)
        return panel[self.time]

    def normalised(self, panel: pd.DataFrame) -> pd.DataFrame:
        """Shifted, normalised indicators x'' with this index's constants."""
        X = panel[list(self.indicators)].to_numpy(dtype=float)
        return pd.DataFrame(self._normalised(X, self._groups(panel).to_numpy()), index=panel.index,
                            columns=list(self.indicators))

    def _normalised(self, X: np.ndarray, groups: np.ndarray) -> np.ndarray:
        lo_r, hi_r = self.norm_range
        out = np.empty_like(X)
        for key in pd.unique(groups):
            rows = np.asarray(groups == key)
            if key not in self.mins.index:
                raise KeyError(f"the index was fitted without group {key!r} (year-by-year weights)")
            mn = self.mins.loc[key].to_numpy()
            mx = self.maxs.loc[key].to_numpy()
            rng = mx - mn
            safe = np.where(rng > 0, rng, 1.0)
            z = (X[rows] - mn) / safe
            z = np.where(self.directions > 0, z, 1.0 - z)
            z = np.where(rng > 0, z, 0.0)
            out[rows] = lo_r + (hi_r - lo_r) * z + self.shift
        return out

    def score(self, panel: pd.DataFrame) -> pd.Series:
        """Index scores of ``panel`` with this index's normalisation and weights."""
        X = panel[list(self.indicators)].to_numpy(dtype=float)
        return pd.Series(self.score_matrix(X, self._groups(panel).to_numpy()), index=panel.index, name="nqp")

    def score_matrix(self, X: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """:meth:`score` of an (n, indicators) matrix in the order of ``indicators`` (``groups``:
        each row's year when the index is not pooled), without building a DataFrame."""
        if not self.pooled and (groups is None or len(groups) != len(X)):
            raise ValueError("score_matrix: an index fitted year by year needs each row's year in groups")
        g = np.full(len(X), "all", dtype=object) if self.pooled else np.asarray(groups)
        Z = self._normalised(np.asarray(X, dtype=float), g)
        codes, groups_seen = pd.factorize(g)
        W = self.weights_by_group.loc[groups_seen].to_numpy()[codes]  # each row's group weights
        return self.scale * (Z * W).sum(axis=1)

    def table(self) -> pd.DataFrame:
        """Weights with Table 1's levels, entropy and redundancy (pooled or year means)."""
        e = self.entropy_by_group.mean(axis=0)
        rows = []
        for j, name in enumerate(self.indicators):
            c = BY_NAME.get(name)
            rows.append({
                "indicator": name,
                "first_level": c.level1 if c else "",
                "second_level": c.level2 if c else "",
                "label": c.label if c else name,
                "direction": "+" if self.directions[j] > 0 else "-",
                "entropy": e[name],
                "redundancy": 1 - e[name],
                "weight": self.weights[name],
            })
        return pd.DataFrame(rows)


def entropy_index(
    panel: pd.DataFrame,
    indicators: tuple[str, ...] | list[str] = INDICATORS,
    *,
    directions: dict[str, int] | None = None,
    pooled: bool = True,
    shift: float = 1e-4,
    norm_range: tuple[float, float] = (0.0, 1.0),
    scale: float = 10.0,
    time: str = "year",
) -> EntropyIndex:
    """Fit the entropy-weight index on ``panel`` (see the module docstring).

    ``directions`` overrides the +/- of the codebook per indicator.  ``scale``
    multiplies the final score (the paper does not state its scaling; 10 puts the
    default data's index on the paper's order of magnitude).  ``time`` names the period
    column of the year-by-year weights (``pooled=False``).
    Returns an :class:`EntropyIndex`; ``.score(panel)`` gives the scores.
    """
    indicators = tuple(indicators)
    missing = [c for c in indicators if c not in panel.columns]
    if missing:
        raise KeyError(f"indicator column(s) not in the panel: {missing}")
    if not pooled and time not in panel.columns:
        raise KeyError(f"year-by-year weights need a {time!r} column (the ``time`` argument)")
    dirs = np.array([(directions or {}).get(c, BY_NAME[c].direction if c in BY_NAME else 1) or 1
                     for c in indicators], dtype=float)
    X = panel[list(indicators)].to_numpy(dtype=float)
    bad = np.isnan(X)
    if bad.any():
        cols = [indicators[j] for j in np.where(bad.any(axis=0))[0]]
        raise ValueError(f"missing values in indicator(s) {cols}: interpolate first "
                         "(replication.data.load_panel does) or drop those rows")
    lo_r, hi_r = norm_range
    if not hi_r > lo_r:
        raise ValueError(f"norm_range must be (low, high) with high > low, got {norm_range}")
    if shift < 0 or (shift == 0 and lo_r <= 0):
        raise ValueError("shift must be > 0 when the normalised range starts at 0 (ln 0 is undefined)")

    groups = np.full(len(panel), "all", dtype=object) if pooled else panel[time].to_numpy()
    keys = list(pd.unique(groups))
    mins, maxs, ws, es = {}, {}, {}, {}
    for key in keys:
        rows = groups == key
        Xg = X[rows]
        n = Xg.shape[0]
        if n < 2:
            raise ValueError(f"group {key!r} has {n} row(s): the entropy method needs at least 2")
        mn, mx = Xg.min(axis=0), Xg.max(axis=0)
        rng = mx - mn
        const = rng <= 0
        if const.any():
            warnings.warn(f"indicator(s) {[indicators[j] for j in np.where(const)[0]]} are constant"
                          f"{'' if pooled else f' in {key}'}: weight set to 0", stacklevel=2)
        z = (Xg - mn) / np.where(const, 1.0, rng)
        z = np.where(dirs > 0, z, 1.0 - z)
        z = np.where(const, 0.0, z)
        z = lo_r + (hi_r - lo_r) * z + shift
        p = z / z.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(p > 0, p * np.log(p), 0.0)
        e = -plogp.sum(axis=0) / np.log(n)
        e = np.where(const, 1.0, e)
        d = 1.0 - e
        if d.sum() <= 0:
            raise ValueError("every indicator is constant: the entropy weights are undefined")
        mins[key], maxs[key], ws[key], es[key] = mn, mx, d / d.sum(), e
    frame = lambda dct: pd.DataFrame.from_dict(dct, orient="index", columns=list(indicators))  # noqa: E731
    return EntropyIndex(indicators, dirs, pooled, float(shift), (float(lo_r), float(hi_r)), float(scale),
                        frame(mins), frame(maxs), frame(ws), frame(es), time=time)


# ---------------------------------------------------------------------------------------
# alternatives for sensitivity analysis

def _minmax(panel: pd.DataFrame, indicators, directions=None) -> np.ndarray:
    X = panel[list(indicators)].to_numpy(dtype=float)
    dirs = np.array([(directions or {}).get(c, BY_NAME[c].direction if c in BY_NAME else 1) or 1
                     for c in indicators], dtype=float)
    mn, mx = X.min(axis=0), X.max(axis=0)
    rng = np.where(mx > mn, mx - mn, 1.0)
    Z = (X - mn) / rng
    return np.where(dirs > 0, Z, 1 - Z)


def equal_weight_index(panel: pd.DataFrame, indicators=INDICATORS, *, scale: float = 10.0) -> pd.Series:
    """Mean of the min-max normalised indicators (every indicator weighs 1/15)."""
    return pd.Series(scale * _minmax(panel, indicators).mean(axis=1), index=panel.index, name="equal")


def pca_index(panel: pd.DataFrame, indicators=INDICATORS, *, scale: float = 10.0) -> pd.Series:
    """First principal component of the standardised indicators, signed to correlate
    positively with the equal-weight index and rescaled to [0, scale]."""
    Z = _minmax(panel, indicators)
    S = (Z - Z.mean(axis=0)) / np.where(Z.std(axis=0) > 0, Z.std(axis=0), 1.0)
    _, _, vt = np.linalg.svd(S, full_matrices=False)
    pc = S @ vt[0]
    if np.corrcoef(pc, Z.mean(axis=1))[0, 1] < 0:
        pc = -pc
    pc = (pc - pc.min()) / (pc.max() - pc.min())
    return pd.Series(scale * pc, index=panel.index, name="pca")


def entropy_topsis_index(panel: pd.DataFrame, indicators=INDICATORS, *, scale: float = 10.0) -> pd.Series:
    """Entropy-weighted TOPSIS: relative closeness C = D- / (D+ + D-) to the ideal
    solution, with distances weighted by the entropy weights (Lu Jiang et al. 2024)."""
    w = entropy_index(panel, indicators).weights.to_numpy()
    Z = _minmax(panel, indicators)
    best, worst = Z.max(axis=0), Z.min(axis=0)
    dp = np.sqrt((w * (Z - best) ** 2).sum(axis=1))
    dm = np.sqrt((w * (Z - worst) ** 2).sum(axis=1))
    return pd.Series(scale * dm / (dp + dm), index=panel.index, name="entropy_topsis")


def alternative_indices(panel: pd.DataFrame, indicators=INDICATORS, *, scale: float = 10.0) -> pd.DataFrame:
    """The entropy index (pooled and year-by-year) and the three alternatives, one column each."""
    return pd.DataFrame({
        "entropy": entropy_index(panel, indicators, scale=scale).score(panel),
        "entropy_yearly": entropy_index(panel, indicators, pooled=False, scale=scale).score(panel),
        "equal": equal_weight_index(panel, indicators, scale=scale),
        "pca": pca_index(panel, indicators, scale=scale),
        "entropy_topsis": entropy_topsis_index(panel, indicators, scale=scale),
    })


def index_correlations(indices: pd.DataFrame) -> pd.DataFrame:
    """Pearson (upper triangle) and Spearman (lower triangle) correlations, in one table."""
    pear = indices.corr(method="pearson")
    spear = indices.corr(method="spearman")
    out = pear.copy()
    n = len(out)
    for i in range(n):
        for j in range(i):
            out.iat[i, j] = spear.iat[i, j]
    return out


def _indicator_list(indicators) -> tuple[str, ...]:
    """The indicators as a tuple; a string is read as a list (``'[a, b]'``, ``'a,b'``)."""
    if isinstance(indicators, str):
        text = indicators.strip().strip("[]()")
        indicators = [t.strip().strip("'\"") for t in text.split(",") if t.strip().strip("'\"")]
    return tuple(indicators)


def validate_indicators(panel: pd.DataFrame, indicators=None) -> tuple[str, ...]:
    """Check a choice of indicators for the NQP index and return it as a tuple.

    ``None`` means the paper's 15 (Table 1).  A name that is not one of the 15, a
    duplicate, fewer than 2 indicators, or an indicator column absent from the panel is
    a ``ValueError`` that names the problem, lists the valid names and the fix."""
    default = indicators is None
    chosen = INDICATORS if default else _indicator_list(indicators)
    unknown = [c for c in chosen if c not in INDICATORS]
    if unknown:
        raise ValueError(f"unknown indicator(s) {unknown}; the index is built from (a subset of) the 15 "
                         f"indicators of Table 1: {list(INDICATORS)}")
    dup = sorted({c for c in chosen if list(chosen).count(c) > 1})
    if dup:
        raise ValueError(f"indicator(s) {dup} listed more than once")
    if len(chosen) < 2:
        raise ValueError(f"the entropy index needs at least 2 indicators, got {list(chosen)}")
    absent = [c for c in chosen if c not in panel.columns]
    if absent:
        present = [c for c in chosen if c in panel.columns]
        fix = "-p indicators='[" + ", ".join(present) + "]'"
        raise ValueError(
            f"indicator column(s) {absent} are not in the panel"
            + (" (the index uses all 15 indicators by default)" if default else "")
            + f". Bring the column(s), or build the index from the indicators you have: run the notebooks with "
            f"{fix} (in Python: add_index(panel, indicators=[...])). Valid names: {list(INDICATORS)}")
    return chosen


def add_index(panel: pd.DataFrame, column: str = "nqp", indicators=None, **options) -> pd.DataFrame:
    """The panel with the entropy NQP index (options as :func:`entropy_index`) added.

    ``indicators`` (default: the 15 of Table 1) chooses a subset of the 15; it is checked
    by :func:`validate_indicators` (unknown names, fewer than 2, or columns absent from the
    panel are errors naming the problem and the fix)."""
    chosen = validate_indicators(panel, indicators)
    out = panel.copy()
    out[column] = entropy_index(panel, chosen, **options).score(panel)
    return out
