"""The benchmarks run (they are not part of the suite otherwise, and one of them once broke
unnoticed when a result column was renamed): the ones with size constants run end to end on
tiny sizes, including their own agreement assertions between the compared implementations."""
from __future__ import annotations

import importlib.util

import pytest

from conftest import ROOT


def bench(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("name, sizes", [
    ("bench_placebo", {"N_DRAWS": 20, "N_NAIVE": 2}),
    ("bench_montecarlo", {"N_REPS": 12, "N_LOOP": 2, "N_BEST": 1}),
    ("bench_montecarlo_full", {"N_BATCHED": {"fixed": 10, "redrawn": 4}, "N_LOOP": {"fixed": 4, "redrawn": 4},
                               "JOBS": 1}),
])
def test_a_benchmark_runs_on_tiny_sizes(name, sizes, monkeypatch, capsys):
    module = bench(name)
    for key, value in sizes.items():
        assert hasattr(module, key), f"{name} has no {key}"
        monkeypatch.setattr(module, key, value)
    module.main()
    out = capsys.readouterr().out
    assert "ratio" in out and "agree" in out, out
