"""Optimizers and learning-rate schedules (mirrors ``mlx.optimizers``)."""

from oxmlx.optimizers.optimizers import (  # noqa: F401
    AdaDelta, Adafactor, Adagrad, Adam, Adamax, AdamW, Lion, MultiOptimizer, Muon, Optimizer,
    RMSprop, SGD, clip_grad_norm,
)
from oxmlx.optimizers.schedulers import (  # noqa: F401
    cosine_decay, exponential_decay, join_schedules, linear_schedule, step_decay,
)
