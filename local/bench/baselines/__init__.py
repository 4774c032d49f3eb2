"""Baselines the functions are compared with (kept import-free: see local/bench/__init__)."""
