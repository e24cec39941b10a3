"""Pytree utilities (mirrors mlx.utils)."""
