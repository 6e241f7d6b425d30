"""The resumable cache: one Parquet file per replication, in a folder named by the study's key.

The key (:meth:`~replication.montecarlo.options.StudyOptions.key`) hashes everything a
replication's rows depend on (seed, calibration, simulator options, fixed design, null,
estimators, resampling draws, level, the version of the rows) but not the number of replications, so
a study of 500 replications reuses the 200 of an earlier one and a re-run after an
interruption computes only what is missing.  Files are written through a temporary name
and a rename: a killed run leaves no half-written replication.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd

from replication.montecarlo.options import StudyOptions

_REP = re.compile(r"^rep_(\d{6})\.parquet$")


class RepCache:
    """The cached replications of one study under ``root``."""

    def __init__(self, root: str | Path, options: StudyOptions):
        self.dir = Path(root) / options.key()
        self.options = options

    def done(self) -> set[int]:
        """Replications already computed."""
        if not self.dir.is_dir():
            return set()
        return {int(m[1]) for f in os.listdir(self.dir) if (m := _REP.match(f))}

    def path(self, rep: int) -> Path:
        return self.dir / f"rep_{rep:06d}.parquet"

    def load(self, reps) -> pd.DataFrame:
        """The rows of the cached replications ``reps`` (empty frame if none)."""
        parts = [pd.read_parquet(self.path(r)) for r in sorted(reps)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def save(self, rows: pd.DataFrame) -> None:
        """Store each replication of ``rows`` in its own file (atomically)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "options.json"
        if not meta.exists():
            _atomic_text(meta, json.dumps(self.options.describe(), indent=1, default=str))
        for rep, g in rows.groupby("rep"):
            out = self.path(int(rep))
            tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
            try:
                g.reset_index(drop=True).to_parquet(tmp, index=False)
                tmp.replace(out)
            finally:
                if tmp.exists():
                    tmp.unlink()


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
