"""Neural network layers (mirrors mlx.nn)."""
