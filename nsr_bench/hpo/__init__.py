"""Optuna sweeps over the same cell runner and results store as the matrix."""
