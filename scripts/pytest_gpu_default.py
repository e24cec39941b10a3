"""pytest plugin: `-p pytest_gpu_default` (with scripts/ on PYTHONPATH) runs
the suite with mx.gpu as the default device, to exercise the cuda backend
with every test (GPU machines only; failures there list what the GPU
backend still lacks)."""

import os

import oxmlx.core as mx

if mx.is_available(mx.gpu):
    mx.set_default_device(mx.gpu)
    os.environ["OXMLX_TEST_DEFAULT_DEVICE"] = "gpu"  # tests that check the start-up default
