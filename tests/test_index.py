"""Entropy weights: a hand-computed example, invariances and directions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replication.data.index import entropy_index


def _hand(X: np.ndarray, shift: float) -> np.ndarray:
    Z = (X - X.min(0)) / (X.max(0) - X.min(0)) + shift
    P = Z / Z.sum(0)
    e = -(P * np.log(P)).sum(0) / np.log(len(X))
    d = 1 - e
    return d / d.sum()


def test_weights_equal_the_hand_computation():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 10.0], "b": [5.0, 5.5, 6.0, 6.5]})
    idx = entropy_index(df, ["a", "b"], directions={"a": 1, "b": 1}, shift=0.01, scale=1.0)
    np.testing.assert_allclose(idx.weights.to_numpy(), _hand(df.to_numpy(), 0.01), rtol=0, atol=1e-15)
    # scores: sum of w_j x''_ij
    Z = (df - df.min()) / (df.max() - df.min()) + 0.01
    np.testing.assert_allclose(idx.score(df).to_numpy(), (Z * idx.weights.to_numpy()).sum(axis=1), atol=1e-15)


def test_exact_small_example():
    # two rows: normalised values 0 and 1 -> p = (0, 1), entropy 0 for both, equal weights
    df = pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 2.0]})
    idx = entropy_index(df, ["a", "b"], directions={"a": 1, "b": 1}, shift=1e-12)
    np.testing.assert_allclose(idx.weights.to_numpy(), [0.5, 0.5], atol=1e-9)


def test_invariant_to_row_order_and_positive_rescaling():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.lognormal(size=(50, 4)), columns=list("abcd"))
    dirs = dict.fromkeys("abcd", 1)
    w = entropy_index(df, list("abcd"), directions=dirs).weights
    w2 = entropy_index(df.sample(frac=1, random_state=1), list("abcd"), directions=dirs).weights
    df3 = df.assign(a=df["a"] * 1000 + 7)
    w3 = entropy_index(df3, list("abcd"), directions=dirs).weights
    pd.testing.assert_series_equal(w, w2, atol=1e-14, rtol=0)
    pd.testing.assert_series_equal(w, w3, atol=1e-12, rtol=0)


def test_negative_direction_mirrors_the_indicator():
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.lognormal(size=(30, 2)), columns=["a", "b"])
    neg = entropy_index(df, ["a", "b"], directions={"a": -1, "b": 1})
    mirrored = df.assign(a=-df["a"])
    pos = entropy_index(mirrored, ["a", "b"], directions={"a": 1, "b": 1})
    pd.testing.assert_series_equal(neg.weights, pos.weights, atol=1e-14, rtol=0)


def test_constant_indicator_gets_zero_weight_with_a_warning():
    df = pd.DataFrame({"a": [1.0, 2.0, 4.0], "c": [3.0, 3.0, 3.0]})
    with pytest.warns(UserWarning, match="constant"):
        idx = entropy_index(df, ["a", "c"], directions={"a": 1, "c": 1})
    assert idx.weights["c"] == 0.0 and idx.weights["a"] == 1.0
    assert np.isfinite(idx.score(df)).all()


def test_year_by_year_weights_differ_from_pooled(panel):
    pooled = entropy_index(panel)
    yearly = entropy_index(panel, pooled=False)
    assert yearly.weights_by_group.shape[0] == panel["year"].nunique()
    assert not np.allclose(pooled.weights, yearly.weights)
    assert np.allclose(yearly.weights_by_group.sum(axis=1), 1)


def test_missing_values_are_an_error():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0]})
    with pytest.raises(ValueError, match="missing values"):
        entropy_index(df, ["a"], directions={"a": 1})


def test_add_index_from_a_subset_of_the_indicators(panel):
    from replication.data.schema import INDICATORS
    from replication.data.index import add_index

    sub = list(INDICATORS[:4])
    out = add_index(panel, indicators=sub)
    np.testing.assert_array_equal(out["nqp"], entropy_index(panel, sub).score(panel))
    assert add_index(panel, indicators="[" + ", ".join(sub) + "]")["nqp"].equals(out["nqp"])
    np.testing.assert_array_equal(add_index(panel)["nqp"], entropy_index(panel).score(panel))


def test_add_index_rejects_bad_indicator_choices(panel):
    from replication.data.schema import INDICATORS
    from replication.data.index import add_index

    with pytest.raises(ValueError, match=r"unknown indicator\(s\) \['gdp'\].*" + INDICATORS[-1]):
        add_index(panel, indicators=[INDICATORS[0], "gdp"])
    with pytest.raises(ValueError, match="at least 2"):
        add_index(panel, indicators=[INDICATORS[0]])
    with pytest.raises(ValueError, match="more than once"):
        add_index(panel, indicators=[INDICATORS[0], INDICATORS[0]])


def test_missing_indicator_column_names_the_columns_and_the_fix(panel):
    from replication.data.schema import INDICATORS
    from replication.data.index import add_index

    gone = [INDICATORS[3], INDICATORS[7]]
    with pytest.raises(ValueError, match=r"\['%s', '%s'\] are not in the panel.*-p indicators='\[%s, " % (
            gone[0], gone[1], INDICATORS[0])) as err:
        add_index(panel.drop(columns=gone))
    assert all(c not in str(err.value).split("-p indicators=")[1].split("]")[0] for c in gone)


# ---------------------------------------------------------------------------------------
# the alternative indices of chapter 2, against hand computations with numpy

def _small_panel():
    rng = np.random.default_rng(7)
    return pd.DataFrame(rng.lognormal(size=(12, 3)), columns=["a", "b", "c"])


def test_pca_index_equals_the_first_principal_component_by_hand():
    from replication.data.index import pca_index

    df = _small_panel()
    X = df.to_numpy()
    Z = (X - X.min(0)) / (X.max(0) - X.min(0))
    S = (Z - Z.mean(0)) / Z.std(0)  # population SD, as in a correlation-matrix PCA
    vals, vecs = np.linalg.eigh(S.T @ S)  # eigenvectors of the correlation matrix
    pc = S @ vecs[:, np.argmax(vals)]
    if np.corrcoef(pc, Z.mean(1))[0, 1] < 0:
        pc = -pc
    expect = 10 * (pc - pc.min()) / (pc.max() - pc.min())
    got = pca_index(df, ["a", "b", "c"])
    np.testing.assert_allclose(got.to_numpy(), expect, atol=1e-12)
    assert got.min() == 0 and got.max() == pytest.approx(10, abs=1e-12)
    # the first component explains more variance than any other unit direction, e.g. equal weights
    e = np.ones(3) / np.sqrt(3)
    assert np.var(S @ vecs[:, np.argmax(vals)]) >= np.var(S @ e) - 1e-12


def test_pca_index_of_two_perfectly_correlated_indicators_is_their_min_max():
    from replication.data.index import pca_index

    df = pd.DataFrame({"a": [1.0, 2.0, 4.0, 8.0], "b": [3.0, 5.0, 9.0, 17.0]})  # b = 2a + 1
    np.testing.assert_allclose(pca_index(df, ["a", "b"], scale=1.0).to_numpy(), [0, 1 / 7, 3 / 7, 1], atol=1e-12)


def test_entropy_topsis_index_equals_the_hand_computation():
    from replication.data.index import entropy_topsis_index

    df = _small_panel()
    X = df.to_numpy()
    Z = (X - X.min(0)) / (X.max(0) - X.min(0))
    w = _hand(X, 1e-4)  # entropy weights with the default shift
    dplus = np.sqrt((w * (Z - 1.0) ** 2).sum(1))  # the ideal is 1 in every column after min-max
    dminus = np.sqrt((w * Z ** 2).sum(1))  # the anti-ideal is 0
    got = entropy_topsis_index(df, ["a", "b", "c"])
    np.testing.assert_allclose(got.to_numpy(), 10 * dminus / (dplus + dminus), atol=1e-12)


def test_entropy_topsis_of_two_rows_is_zero_and_the_scale():
    from replication.data.index import entropy_topsis_index

    df = pd.DataFrame({"a": [0.0, 1.0], "b": [5.0, 7.0]})  # row 1 is the ideal, row 0 the anti-ideal
    np.testing.assert_allclose(entropy_topsis_index(df, ["a", "b"]).to_numpy(), [0.0, 10.0], atol=1e-12)


@pytest.mark.parametrize("pooled", [True, False])
def test_score_matrix_equals_score_bit_for_bit(panel, pooled):
    """The simulator's truth scores potential outcomes as matrices: the same numbers as scoring
    a DataFrame, pooled or year by year (which needs each row's year)."""
    idx = entropy_index(panel, pooled=pooled)
    other = panel.sample(frac=1.0, random_state=3)  # another order of the rows
    X = other[list(idx.indicators)].to_numpy(float)
    assert np.array_equal(idx.score_matrix(X, other["year"].to_numpy()), idx.score(other).to_numpy())
    if not pooled:
        with pytest.raises(ValueError, match="year"):
            idx.score_matrix(X)
