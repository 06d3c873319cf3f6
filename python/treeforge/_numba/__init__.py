"""Numba helpers shared by the n-gram and Monte Carlo kernels (private).

Every module here imports Numba when imported; only kernel modules import them, and the public
modules import the kernels on first use.
"""
