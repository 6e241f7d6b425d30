"""Running a study: blocks of replications in parallel, cached, with a progress bar.

The replications are cut into fixed blocks of :data:`BLOCK` (0-9, 10-19, ...), whatever the
number of processes, and every replication's seeds derive from (seed, replication): the
results do not depend on ``jobs`` or on the scheduler.  ``jobs`` local processes run the
blocks through ``joblib`` (loky); ``scheduler="tcp://host:8786"`` (or a
``distributed.Client``) runs the same calls on a Dask cluster through joblib's Dask backend.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import pandas as pd

from replication.montecarlo.cache import RepCache
from replication.montecarlo.options import StudyError, StudyOptions
from replication.montecarlo.replicate import COLUMNS, run_block
from replication.montecarlo.summary import summarise

BLOCK = 10  # replications per task
SCHEDULER_TIMEOUT = "5s"  # how long to try to reach a Dask scheduler


@dataclass
class StudyResult:
    """``per_rep``: the long rows of every replication; ``summary``: :func:`summarise`'s table."""

    options: StudyOptions
    per_rep: pd.DataFrame
    summary: pd.DataFrame
    computed: int  # replications computed in this call (the others came from the cache)

    def row(self, estimator: str, estimand: str, target: str | None = None) -> pd.Series:
        """One row of the summary (the first target when ``target`` is None)."""
        s = self.summary
        m = (s["estimator"] == estimator) & (s["estimand"] == estimand)
        if target is not None:
            m &= s["target"] == target
        if not m.any():
            raise KeyError(f"no summary row for {estimator} / {estimand} / {target}")
        return s[m].iloc[0]


def blocks(reps) -> list[list[int]]:
    """The replications grouped by their fixed block (``r // BLOCK``)."""
    out: dict[int, list[int]] = {}
    for r in sorted(reps):
        out.setdefault(r // BLOCK, []).append(r)
    return list(out.values())


@contextlib.contextmanager
def _backend(scheduler):
    """joblib's Dask backend on ``scheduler`` (an address, or a ``distributed.Client`` already
    connected), or nothing.  joblib connects to the address itself (its ``scheduler_host``)."""
    if scheduler is None:
        yield
        return
    import joblib

    # how long to try to reach the scheduler (read when distributed is first imported)
    os.environ.setdefault("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", SCHEDULER_TIMEOUT)
    client = scheduler if hasattr(scheduler, "scheduler_info") else None
    try:
        config = (joblib.parallel_config(backend="dask") if client is not None else
                  joblib.parallel_config(backend="dask", scheduler_host=str(scheduler)))
        config.__enter__()
    except ImportError:
        raise StudyError("--scheduler needs the packages dask and distributed: "
                         "pip install 'replication[dask]' (or -r requirements.txt)") from None
    except (OSError, TimeoutError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else "no answer"
        raise StudyError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({type(e).__name__}: "
                         f"{first})") from None
    try:
        with client.as_current() if client is not None else contextlib.nullcontext():
            yield
    finally:
        config.__exit__(None, None, None)


def run_study(options: StudyOptions, *, jobs: int = 1, scheduler=None, cache_dir=None,
              progress: bool = False) -> StudyResult:
    """Run (or resume) the study: every replication not yet in ``cache_dir``'s cache, in
    blocks on ``jobs`` processes (or on the Dask ``scheduler``), then the summary."""
    from joblib import Parallel, delayed

    if progress:
        from tqdm.auto import tqdm
    else:  # no bar: the plain class (tqdm.auto warns in a notebook without ipywidgets)
        from tqdm import tqdm

    options.check()
    if not isinstance(jobs, int) or jobs < 1:
        raise StudyError(f"--jobs {jobs!r}: must be an integer >= 1")
    cache = RepCache(cache_dir, options) if cache_dir else None
    wanted = set(range(options.reps))
    have = (cache.done() & wanted) if cache else set()
    todo = blocks(wanted - have)
    parts = [cache.load(have)] if have else []
    if todo:
        with _backend(scheduler), tqdm(total=sum(map(len, todo)), desc="replications", unit="rep",
                                       disable=not progress) as bar:
            n_jobs = -1 if scheduler is not None else min(jobs, len(todo))
            run = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            for rows in run(delayed(run_block)(options, b) for b in todo):
                if cache:
                    cache.save(rows)
                parts.append(rows)
                bar.update(rows["rep"].nunique())
    per_rep = _ordered(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS))
    return StudyResult(options, per_rep, summarise(per_rep, options.alpha), sum(map(len, todo)))


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    """Rows by replication, in the order the block produced them (deterministic)."""
    df = df.reindex(columns=COLUMNS)
    df["_i"] = df.groupby("rep").cumcount()
    return df.sort_values(["rep", "_i"], kind="stable").drop(columns="_i").reset_index(drop=True)
