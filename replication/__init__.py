"""Replication of Zhu & Chen (2025), "Research on the impact of smart city construction
on new quality productivity": data, estimators, tables and figures.

All logic lives in this package; the notebooks in ``notebooks/`` narrate and call
one function per table or figure.
"""
__version__ = "0.1.0"
