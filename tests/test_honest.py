"""Smoothness FLCI (Rambachan-Roth) on the HonestDiD README's ehec example."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import ORACLE, need
from replication import honest
from replication.did import twfe


@pytest.fixture(scope="module")
def ehec():
    d = pd.read_stata(need(ORACLE / "ehec_data.dta"))
    d["year"] = d["year"].astype(int)
    d = d[(d["year"] < 2016) & (d["yexp2"].isna() | (d["yexp2"] != 2015))].copy()
    d["D"] = (d["yexp2"] == 2014).astype(float)
    names = []
    for y in sorted(d["year"].unique()):
        if y != 2013:
            d[f"y{y}"] = (d["year"] == y) * d["D"]
            names.append(f"y{y}")
    r = twfe(d, "dins", names, (), entity="stfips", time="year", cluster="stfips")
    return r.params[names].to_numpy(), r.cov.loc[names, names].to_numpy()


def test_cv_alpha():
    assert honest.cv_alpha(0.0) == pytest.approx(1.959964, abs=1e-6)
    assert honest.cv_alpha(3.0) == pytest.approx(3.0 + 1.644854, abs=1e-3)


@pytest.mark.parametrize("M,published", [(0.0, (0.0259, 0.0607)), (0.05, (-0.0271, 0.121))])
def test_flci_close_to_the_honestdid_readme(ehec, M, published):
    """Within 3e-4 of the README (not yet to its printed precision: see the module docstring)."""
    b, S = ehec
    r = honest.flci_smoothness(b, S, 5, 2, M)
    assert r["lower"] == pytest.approx(published[0], abs=3e-4)
    assert r["upper"] == pytest.approx(published[1], abs=3e-4)


def test_flci_widens_with_m(ehec):
    b, S = ehec
    rs = honest.sensitivity_smoothness(b, S, 5, 2, [0.0, 0.01, 0.02, 0.04])
    lengths = [r["half_length"] for r in rs]
    assert all(np.diff(lengths) > 0)


def test_linear_pretrend_is_removed_exactly():
    """With M = 0 the FLCI is exact under any linear pre-trend: adding a linear trend to
    all coefficients shifts nothing."""
    rng = np.random.default_rng(1)
    S = np.diag(rng.uniform(0.5, 1.5, 7)) * 1e-4
    b = rng.normal(0, 0.01, 7)
    t = np.r_[np.arange(-5, 0), np.arange(1, 3)].astype(float)
    a = honest.flci_smoothness(b, S, 5, 2, 0.0)
    c = honest.flci_smoothness(b + 0.03 * t, S, 5, 2, 0.0)
    assert c["estimate"] - a["estimate"] == pytest.approx(0.0, abs=1e-9)
