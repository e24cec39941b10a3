#!/bin/bash
# The H200 device run used for the cuda backend (build with cmake + ninja, test_cuda,
# the GPU-default suite, bench_cuda.py, profile_cuda.py); run from the repo root.
# usage: bash scripts/cuda_device_run.sh "<bench args>" "<c=test_cuda s=suite b=bench p=profile>" [suite selection]
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
SP=$(python3 -c 'import site;print(site.getsitepackages()[0])')
export LD_LIBRARY_PATH=$(ls -d $SP/nvidia/*/lib 2>/dev/null | tr '\n' ':')${LD_LIBRARY_PATH:-}
t0=$(date +%s)
cmake -S . -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE=$(which python3) > $OUT/cmake.log 2>&1 || { tail -30 $OUT/cmake.log; exit 1; }
ninja -C build/gpu oxmlx _core oxmlx_cuda > $OUT/build.log 2>&1 || { grep -B2 -A20 "error" $OUT/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
export OXMLX_DEV_BUILD=$PWD/build/gpu PYTHONPATH=$PWD/python:$PWD/scripts
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
case "$2" in *c*) timeout 150 python3 -m pytest -q -n 8 -rfE tests/test_cuda.py > $OUT/test_cuda.txt 2>&1; echo "test_cuda $(( $(date +%s) - t0 )) s: $(tail -1 $OUT/test_cuda.txt)"; grep -E "^(FAILED|ERROR)" $OUT/test_cuda.txt | cut -c1-200 | head -20
  if grep -q "^FAILED.*sdpa" $OUT/test_cuda.txt; then OXMLX_CUDA_SDPA_TC=0 timeout 60 python3 -m pytest -q -n 8 tests/test_cuda.py -k sdpa > $OUT/test_cuda_notc.txt 2>&1; echo "sdpa tests without the TC kernel: $(tail -1 $OUT/test_cuda_notc.txt)"; grep -m3 -B5 "Error" $OUT/test_cuda.txt | head -40; fi;; esac
case "$2" in *s*) timeout 300 python3 -m pytest -q -n 16 -p pytest_gpu_default -rfE ${3:-tests} > $OUT/suite.txt 2>&1; echo "suite $(( $(date +%s) - t0 )) s: $(tail -1 $OUT/suite.txt)"; grep -E "^(FAILED|ERROR)" $OUT/suite.txt | cut -c1-200 | head -40;; esac
case "$2" in *b*) timeout 170 python3 scripts/bench_cuda.py $1 > $OUT/bench.txt 2> $OUT/bench.err; echo "bench rc $? $(( $(date +%s) - t0 )) s"; cat $OUT/bench.txt; tail -3 $OUT/bench.err;; esac
case "$2" in *p*) timeout 60 python3 scripts/profile_cuda.py --only mlp > $OUT/profile.txt 2>&1; echo "profile rc $? $(( $(date +%s) - t0 )) s";; esac
cat $OUT/profile.txt 2>/dev/null | head -80
