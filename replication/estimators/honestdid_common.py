"""Pieces shared by the HonestDiD modules: R-compatible random numbers and the check of
the event-study inputs.

HonestDiD draws random numbers in two places: the folded-normal critical value of the
FLCI (a quantile of 10^6 draws after ``set.seed(0)``) and the least-favourable critical
value of the C-LF hybrid (1000 ``mvtnorm::rmvnorm`` draws after ``set.seed(0)``).
:func:`r_rnorm` reproduces R's ``set.seed`` + Mersenne-Twister + inversion ``rnorm`` stream
bit for bit (tested against values R prints), so that our numbers equal HonestDiD's.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special

_R_BIG = 134217728  # 2^27, R's INVERSION normal generator
_R_I2_32M1 = 2.328306437080797e-10  # R's fixup constant for unif_rand()


def _r_mersenne_state(seed: int) -> np.ndarray:
    """The 624-word Mersenne-Twister state R's ``set.seed(seed)`` produces
    (``RNG_Init``: 50 scrambling steps of a linear congruential generator, then one step
    per state word)."""
    s = int(seed) & 0xFFFFFFFF
    for _ in range(50):
        s = (69069 * s + 1) & 0xFFFFFFFF
    words = np.empty(625, dtype=np.uint64)
    for j in range(625):
        s = (69069 * s + 1) & 0xFFFFFFFF
        words[j] = s
    return words[1:].astype(np.uint32)  # word 0 is R's position counter (reset to 624)


def r_runif(n: int, seed: int) -> np.ndarray:
    """``set.seed(seed); runif(n)`` of R (default generator kinds), bit for bit."""
    bg = np.random.MT19937()
    bg.state = {"bit_generator": "MT19937", "state": {"key": _r_mersenne_state(seed), "pos": 624}}
    u = bg.random_raw(n).astype(np.float64) * 2.3283064365386963e-10
    u[u <= 0.0] = 0.5 * _R_I2_32M1
    u[1.0 - u <= 0.0] = 1.0 - 0.5 * _R_I2_32M1
    return u


def r_rnorm(n: int, seed: int) -> np.ndarray:
    """``set.seed(seed); rnorm(n)`` of R (Mersenne-Twister, inversion), to the last bit of
    the uniforms; the normal quantile is scipy's (equal to R's qnorm to ~1e-16)."""
    u = r_runif(2 * n, seed)
    return special.ndtri((np.floor(_R_BIG * u[0::2]) + u[1::2]) / _R_BIG)


def r_rmvnorm(n: int, sigma: np.ndarray, seed: int) -> np.ndarray:
    """``set.seed(seed); mvtnorm::rmvnorm(n, sigma = sigma)`` (method "eigen": the draws
    times the symmetric square root of sigma, which does not depend on the signs of the
    eigenvectors)."""
    sigma = np.asarray(sigma, float)
    vals, vecs = np.linalg.eigh(sigma)
    root = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T
    return _r_normals(n * sigma.shape[0], seed).reshape(n, sigma.shape[0]) @ root


def _r_quantile(x: np.ndarray, p: float, axis=None) -> np.ndarray:
    """R's default (type 7) quantile, which is numpy's "linear"."""
    return np.quantile(x, p, axis=axis)


@lru_cache(maxsize=4)
def _r_normals(n: int, seed: int) -> np.ndarray:
    """:func:`r_rnorm`, cached (read-only): HonestDiD re-seeds before every use, so the
    same stream is needed for every critical value."""
    z = r_rnorm(n, seed)
    z.setflags(write=False)
    return z


def _check_event_study(beta, sigma, n_pre, n_post, l_vec):
    beta, sigma = np.asarray(beta, float), np.asarray(sigma, float)
    if beta.ndim != 1 or len(beta) != n_pre + n_post or sigma.shape != (len(beta), len(beta)):
        raise ValueError(f"beta ({beta.shape}) and sigma ({sigma.shape}) must have n_pre + n_post = "
                         f"{n_pre + n_post} entries, the reference period omitted")
    if not np.allclose(sigma, sigma.T, atol=1e-12 * max(1.0, np.abs(sigma).max())):
        raise ValueError("sigma is not symmetric")
    l_vec = np.eye(n_post)[0] if l_vec is None else np.asarray(l_vec, float).ravel()
    if len(l_vec) != n_post:
        raise ValueError(f"l_vec has {len(l_vec)} entries but there are {n_post} post-periods")
    return beta, sigma, l_vec
