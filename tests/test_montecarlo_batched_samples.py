"""The batched PSM-DID, subgroup and mediation estimators (replication.montecarlo.batched_samples)
return, for every replication of a fixed-design study, and for each replication of a redrawn
design built on its own panel, the rows of the looped ``run_estimator``: same rows in the same
order, same strings, numbers to 1e-10."""
from __future__ import annotations

import numpy as np
import pytest

from replication.montecarlo import batched_samples as bs
from replication.montecarlo.draws import draw
from replication.montecarlo.estimators import run_estimator
from replication.montecarlo.options import StudyOptions
from replication.montecarlo.replicate import run_block

NAMES = ("psm_did", "subgroups", "mediation")
OUTCOMES = ("nqp", "hc", "st")
TOL = 1e-10


def study(reps: int, **kw):
    """Options, the design (replication 0's panel) and the outcome matrices, truths and seeds of ``reps`` draws."""
    options = StudyOptions.make(reps=reps, fixed_design=True, estimators=NAMES, **kw)
    draws = [draw(options, r) for r in range(reps)]
    outcomes = {k: np.column_stack([d.panel[k].to_numpy(float) for d in draws]) for k in OUTCOMES}
    return options, draws[0].panel, outcomes, [d.truth for d in draws], [d.estimator_seed for d in draws]


@pytest.fixture(scope="module")
def default():
    return study(4)


def looped(name, options, design, outcomes, truths, seeds):
    """The definition: run_estimator on the design with replication r's outcomes."""
    return [run_estimator(name, design.assign(**{k: v[:, r] for k, v in outcomes.items()}), truths[r], options,
                          seeds[r]) for r in range(len(truths))]


def assert_same_rows(ours, loop):
    assert len(ours) == len(loop)
    for r, (mine, theirs) in enumerate(zip(ours, loop)):
        assert [list(row) for row in mine] == [list(row) for row in theirs], f"replication {r}: columns differ"
        for a, b in zip(mine, theirs):
            for key, want in b.items():
                got = a[key]
                if isinstance(want, str):
                    assert got == want, (r, key, got, want)
                elif np.isnan(want):
                    assert np.isnan(got), (r, b["estimand"], key, got, want)
                else:
                    assert abs(got - want) <= TOL * max(1.0, abs(want)), (r, b["estimand"], key, got, want)


def check(name, options, design, outcomes, truths, seeds):
    ours = bs.BATCHED[name](design, options).rows(name, outcomes, truths, seeds)
    loop = looped(name, options, design, outcomes, truths, seeds)
    assert_same_rows(ours, loop)
    return ours


@pytest.mark.parametrize("name", NAMES)
def test_batched_rows_equal_the_loop(default, name):
    ours = check(name, *default)
    expected = {"psm_did": ["att"],
                "subgroups": [f"att_region_{g}" for g in ("east", "west", "central")]
                + ["att_size_large", "att_size_small_medium"],
                "mediation": ["a_hc", "indirect_hc", "a_st", "indirect_st"]}[name]
    assert [row["estimand"] for row in ours[0]] == expected
    # different replications, not one repeated
    assert len({rows[0]["estimate"] for rows in ours}) == len(ours)


def test_paper_calibration_and_another_seed():
    args = study(2, calibration="paper", seed=7)
    for name in NAMES:
        check(name, *args)


def test_any_row_order_of_the_design(default):
    options, design, outcomes, truths, seeds = default
    perm = np.random.default_rng(0).permutation(len(design))
    shuffled = design.iloc[perm]
    some = {k: v[perm, :2] for k, v in outcomes.items()}
    for name in NAMES:
        check(name, options, shuffled, some, truths[:2], seeds[:2])


def test_groups_follow_the_library_rules(default):
    """A group with too few treated cities is left out, an extra one comes after the paper's
    regions, and cities without a population are excluded from the size groups."""
    options, design, outcomes, truths, seeds = default
    first = design.groupby("city_code")[["region", "treat"]].first()
    east_t = first.index[(first["region"] == "east") & (first["treat"] == 1)][:6]
    east_u = first.index[(first["region"] == "east") & (first["treat"] == 0)][:6]
    cen_t = first.index[(first["region"] == "central") & (first["treat"] == 1)][:2]
    cen_u = first.index[(first["region"] == "central") & (first["treat"] == 0)][:3]
    city = design["city_code"]
    region = design["region"].mask(city.isin(east_t.union(east_u)), "northeast")
    region = region.mask(city.isin(cen_t.union(cen_u)), "tiny")
    pop = design["urban_core_pop_2020"].mask(city.isin(first.index[::9]))
    moved = design.assign(region=region, urban_core_pop_2020=pop)
    some = {k: v[:, :2] for k, v in outcomes.items()}
    ours = check("subgroups", options, moved, some, truths[:2], seeds[:2])
    assert [row["estimand"] for row in ours[0]][:4] == [f"att_region_{g}" for g in ("east", "west", "central",
                                                                                    "northeast")]
    assert "att_region_tiny" not in {row["estimand"] for row in ours[0]}
    assert np.isnan(ours[0][3]["truth"])  # no truth for a group the simulator does not know


def test_degenerate_replications_are_the_loops_own_rows(default):
    """Missing outcomes, or a mediator collinear with did and the controls, in one replication:
    that replication gets the loop's (failure) rows, the others stay batched and equal."""
    options, design, outcomes, truths, seeds = default
    bad = {k: v[:, :3].copy() for k, v in outcomes.items()}
    bad["nqp"][design["treat"].to_numpy() == 1, 1] = np.nan  # rows every sample uses
    bad["hc"][:, 2] = 0.5 * design["did"].to_numpy() + 1e-3 * design["pd"].to_numpy()
    for name in NAMES:
        ours = check(name, options, design, bad, truths[:3], seeds[:3])
        assert ours[1][0]["kind"] == "failure" and ours[0][0]["kind"] == "estimate"
    assert ours[2][0]["kind"] == "failure" and "collinear" in ours[2][0]["note"]


def test_refusals(default):
    options, design, outcomes, truths, seeds = default
    for name, cls in bs.BATCHED.items():
        with pytest.raises(ValueError, match="must be a pandas DataFrame"):
            cls(design.to_numpy(), options)
        with pytest.raises(ValueError, match=r"missing values in \['gov'\]"):
            cls(design.assign(gov=design["gov"].mask(design.index == 3)), options)
        with pytest.raises(ValueError, match="no column"):
            cls(design.drop(columns="pd"), options)
    with pytest.raises(ValueError, match=r"no column\(s\) \['region'\]"):
        bs.BatchedSubgroups(design.drop(columns="region"), options)
    med = bs.BatchedMediation(design, options)
    with pytest.raises(ValueError, match="not 'psm_did'"):
        med.rows("psm_did", outcomes, truths, seeds)
    with pytest.raises(ValueError, match=r"missing \['st'\]"):
        med.rows("mediation", {k: outcomes[k] for k in ("nqp", "hc")}, truths, seeds)
    with pytest.raises(ValueError, match="must be"):
        med.rows("mediation", {k: v[:-1] for k, v in outcomes.items()}, truths, seeds)
    # a design without treated cities: the matching cannot run, and says so
    with pytest.raises(ValueError, match="psm_did: the design cannot be matched"):
        bs.BatchedPSMDID(design.assign(treat=0), options)


@pytest.fixture(scope="module")
def redrawn():
    """Options of a redrawn-design study and three of its replications (each its own design)."""
    options = StudyOptions.make(reps=3, estimators=NAMES)
    return options, [draw(options, r) for r in range(3)]


@pytest.mark.parametrize("name", NAMES)
def test_redrawn_design_one_replication_each(redrawn, name):
    """On a redrawn design each replication is its own design (R = 1), as run_block uses the
    classes: the rows equal the loop's on that replication's panel."""
    options, draws = redrawn
    designs = {tuple(d.panel["pd"].head(3)) for d in draws}
    assert len(designs) == len(draws)  # the designs do differ
    for d in draws:
        outcomes = {k: d.panel[k].to_numpy(float)[:, None] for k in OUTCOMES}
        check(name, options, d.panel, outcomes, [d.truth], [d.estimator_seed])
    assert bs.BATCHED[name].redrawn


def test_redrawn_paper_calibration():
    options = StudyOptions.make(reps=1, calibration="paper", seed=11, estimators=NAMES)
    d = draw(options, 0)
    outcomes = {k: d.panel[k].to_numpy(float)[:, None] for k in OUTCOMES}
    for name in NAMES:
        check(name, options, d.panel, outcomes, [d.truth], [d.estimator_seed])


def test_run_block_uses_them_on_a_redrawn_design(redrawn):
    """run_block runs the three batched on a redrawn design, with the looped block's rows."""
    options, _ = redrawn
    ours, loop = run_block(options, range(2)), run_block(options, range(2), batch=False)
    est = ours["kind"] != "check"
    assert (ours.loc[est, "path"] == "batched").all() and (ours["note"] == "").all()
    assert list(ours["estimand"]) == list(loop["estimand"])
    for col in ("estimate", "se", "lower", "upper", "pvalue", "truth"):
        x, y = ours[col].to_numpy(float), loop[col].to_numpy(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), col
        assert np.nanmax(np.abs(x - y) / np.maximum(1.0, np.abs(y))) <= TOL, col
