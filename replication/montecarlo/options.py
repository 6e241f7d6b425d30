"""What a Monte Carlo study runs: :class:`StudyOptions`, checked once, hashed for the cache,
and the seed of every replication derived from (seed, replication).

Every input a user can get wrong (``--dgp key=value``, ``--reps``, the calibration, the
estimator set) is checked here with a one-line message that names the parameter and the fix;
:class:`StudyError` is a ``ValueError``, so the command line prints it and exits 2.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from replication.data.calibration import CALIBRATIONS, calibration
from replication.data.dgp import DGP

#: The effect switched off: no effect on the indicators and none on the mediators (the sharp null).
NULL_OPTIONS = {"effect_scale": 0.0, "a_hc": 0.0, "a_st": 0.0}
#: The options that scale the planted effect (a power curve multiplies all three by one factor).
EFFECT_OPTIONS = tuple(NULL_OPTIONS)
#: The linear DID estimators (batched when the design is held fixed) and the full set.
LINEAR = ("twfe_controls", "twfe_nocontrols", "sun_abraham", "imputation", "cs_or")
FULL = LINEAR + ("cs_or_controls", "psm_did", "mediation", "subgroups", "threshold", "placebo_ri", "pretrend_wald")
ESTIMATOR_SETS = {"linear": LINEAR, "full": FULL}


#: The packages whose code computes a replication's rows: the cache key includes a fingerprint of
#: their source, so cached rows are never reused after the code that made them changed.
ROW_PACKAGES = ("data", "estimators", "montecarlo")
_FINGERPRINT: list = []


class StudyError(ValueError):
    """A study that cannot run as asked (the message names the option and the fix)."""


def code_fingerprint() -> str:
    """SHA-256 of the source of :data:`ROW_PACKAGES` (every ``.py`` file, by relative path),
    computed once per process."""
    if not _FINGERPRINT:
        from pathlib import Path

        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for pkg in ROW_PACKAGES:
            for f in sorted((root / pkg).rglob("*.py")):
                h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
        _FINGERPRINT.append(h.hexdigest())
    return _FINGERPRINT[0]


def derive_seed(seed: int, *keys: int) -> int:
    """A 32-bit seed derived deterministically from ``seed`` and ``keys`` (numpy's SeedSequence):
    replication r's panel uses ``derive_seed(seed, 1, r)``, its resampling tests
    ``derive_seed(seed, 2, r)``, a fixed design ``derive_seed(seed, 0)`` — so no result depends
    on how the replications are split between processes."""
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1)[0])


def _field_kind(name: str) -> str:
    return str(DGP.__dataclass_fields__[name].type)


def parse_dgp(items) -> dict:
    """``["effect_scale=0", "batch_years=[2012, 2013]"]`` (or a dict) -> options of the simulator.

    Values are read as YAML (numbers, lists); unknown keys and values of the wrong type are
    :class:`StudyError` naming the key and the valid ones."""
    import yaml

    if isinstance(items, dict):
        pairs = list(items.items())
    else:
        pairs = []
        for item in items or ():
            key, sep, value = str(item).partition("=")
            if not sep or not key.strip():
                raise StudyError(f"--dgp {item!r}: expected key=value, e.g. --dgp effect_scale=0")
            try:
                pairs.append((key.strip(), yaml.safe_load(value)))
            except yaml.YAMLError:
                raise StudyError(f"--dgp {item!r}: cannot read the value {value!r}") from None
    out = {}
    for key, value in pairs:
        if key not in DGP.__dataclass_fields__:
            raise StudyError(f"--dgp {key}: unknown option of the simulator; valid: {', '.join(sorted(DGP.__dataclass_fields__))}")
        out[key] = _typed(key, value)
    return out


def _typed(key: str, value):
    kind = _field_kind(key)
    if kind.startswith("float") or kind.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise StudyError(f"--dgp {key}={value!r}: expected a number")
        return float(value) if kind.startswith("float") else value
    if kind.startswith("tuple"):
        if not isinstance(value, (list, tuple)):
            raise StudyError(f"--dgp {key}={value!r}: expected a list, e.g. {key}={list(getattr(DGP(), key))}")
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


@dataclass(frozen=True)
class StudyOptions:
    """One Monte Carlo study.

    ``reps`` replications of the simulator with ``calibration`` (``"default"`` or ``"paper"``,
    :mod:`replication.data.calibration`) and the simulator options ``dgp`` on top; ``null``
    switches the effect off (:data:`NULL_OPTIONS`); ``fixed_design`` holds the design (city
    factors, controls, pilots, missing cells) fixed and redraws the outcomes; ``estimators``
    is ``"full"`` or ``"linear"`` (:data:`ESTIMATOR_SETS`) or a tuple of estimator ids.
    ``n_placebo``, ``n_boot`` (threshold bootstrap per test) and ``n_boot_imputation`` are
    the resampling draws inside each replication; ``alpha`` the level of every test."""

    reps: int = 100
    seed: int = 20251206
    calibration: str = "default"
    dgp: tuple = ()
    fixed_design: bool = False
    null: bool = False
    estimators: tuple = FULL
    n_placebo: int = 99
    n_boot: int = 19
    n_boot_imputation: int = 49
    years: tuple = (2009, 2022)
    alpha: float = 0.05

    @classmethod
    def make(cls, **kw) -> "StudyOptions":
        """Options from keyword arguments (``dgp`` a dict or ``key=value`` strings, ``estimators``
        a set name or ids), checked."""
        dgp = parse_dgp(kw.pop("dgp", None) or {})
        est = kw.pop("estimators", "full")
        est = ESTIMATOR_SETS.get(est, est) if isinstance(est, str) else tuple(est)
        opts = cls(dgp=tuple(sorted(dgp.items())), estimators=tuple(est), **kw)
        opts.check()
        return opts

    def dgp_options(self) -> dict:
        """The simulator's options: the calibration, then ``dgp``, then the null."""
        return {**calibration(self.calibration), **dict(self.dgp), **(NULL_OPTIONS if self.null else {})}

    def with_effect(self, factor: float) -> "StudyOptions":
        """The same study with the planted effect multiplied by ``factor`` (a point of a power curve)."""
        base = {**DGP().__dict__, **self.dgp_options()}
        scaled = {k: float(base[k]) * float(factor) for k in EFFECT_OPTIONS}
        return replace(self, dgp=tuple(sorted({**dict(self.dgp), **scaled}.items())), null=False)

    def check(self) -> None:
        """Raise :class:`StudyError` for an option that cannot work."""
        _positive_int("reps", self.reps, 1)
        _positive_int("seed", self.seed, 0)
        for name, low in (("n_placebo", 1), ("n_boot", 0), ("n_boot_imputation", 0)):
            _positive_int(name, getattr(self, name), low)
        if self.calibration not in CALIBRATIONS:
            raise StudyError(f"--calibration {self.calibration!r}: unknown; choose one of {', '.join(CALIBRATIONS)}")
        unknown = [e for e in self.estimators if e not in FULL]
        if unknown or not self.estimators:
            raise StudyError(f"estimators {unknown or '(none)'}: unknown; choose 'full', 'linear' or ids of {', '.join(FULL)}")
        if not 0 < self.alpha < 1:
            raise StudyError(f"alpha={self.alpha}: must lie between 0 and 1")
        parse_dgp(dict(self.dgp))
        self._try_simulator()

    def _try_simulator(self) -> None:
        """One cheap panel with these options, so that a bad combination fails before any work."""
        from replication.data.simulate import simulate_panel

        try:
            simulate_panel(seed=0, years=tuple(self.years), **self.dgp_options())
        except (TypeError, ValueError) as e:
            raise StudyError(f"the simulator rejects the options (years {tuple(self.years)}, --dgp "
                             f"{dict(self.dgp) or 'none'}, calibration {self.calibration}): {e}") from None

    def key(self) -> str:
        """What the cached replications depend on (everything but ``reps``, and
        :func:`code_fingerprint`), as 16 hex digits."""
        d = {k: v for k, v in asdict(self).items() if k != "reps"}
        d["dgp"] = self.dgp_options()
        d["code"] = code_fingerprint()
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=list).encode()).hexdigest()[:16]

    def describe(self) -> dict:
        """The options as a flat dict (for the output's metadata)."""
        return {"reps": self.reps, "seed": self.seed, "calibration": self.calibration,
                "dgp": json.dumps(self.dgp_options(), sort_keys=True, default=list),
                "fixed_design": self.fixed_design, "null": self.null, "estimators": ",".join(self.estimators),
                "n_placebo": self.n_placebo, "n_boot": self.n_boot, "n_boot_imputation": self.n_boot_imputation,
                "alpha": self.alpha, "key": self.key()}


def _positive_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise StudyError(f"--{name.replace('_', '-')} {value!r}: must be an integer >= {low}")


def option_names() -> list[str]:
    """The fields of :class:`StudyOptions`."""
    return [f.name for f in fields(StudyOptions)]
