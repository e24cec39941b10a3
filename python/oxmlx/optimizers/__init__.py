"""Optimizers (mirrors mlx.optimizers)."""
