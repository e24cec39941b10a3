"""Runs the cases: builds each framework's callable, checks its result against
the reference (numpy's result where numpy has the case, else the first
framework's), then times it (best of several batches, each call synchronized)."""

import sys
import time

import numpy as np


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total, stream=sys.stderr, width=30):
        self.total, self.done, self.stream, self.width = max(total, 1), 0, stream, width

    def step(self, what):
        self.done += 1
        k = self.width * self.done // self.total
        bar = "#" * k + "-" * (self.width - k)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {what[:48]:<48}")
        self.stream.flush()

    def close(self):
        self.stream.write("\r" + " " * (self.width + 60) + "\r")
        self.stream.flush()


def _agree(ref, got, rtol, atol):
    if isinstance(ref, list):
        return (isinstance(got, list) and len(ref) == len(got)
                and all(_agree(r, g, rtol, atol) for r, g in zip(ref, got)))
    if np.shape(ref) != np.shape(got):
        return False
    return bool(np.allclose(np.asarray(got, np.float64), np.asarray(ref, np.float64),
                            rtol=rtol, atol=atol, equal_nan=True))


def time_call(fw, fn, budget, reps=5):
    """Seconds per call: best over `reps` batches of calls filling `budget`."""
    fw.sync(fn())  # warm-up (allocator caches, JIT traces, compile caches)
    t0 = time.perf_counter()
    fw.sync(fn())
    once = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(budget / reps / once))
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            fw.sync(fn())
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def run(workloads, frameworks, quick=False, budget=None, progress=True, seed=0):
    """Returns a list of result rows (one per case), each with per-framework
    entries {"seconds", "gflops", "status"}."""
    budget = budget if budget is not None else (0.15 if quick else 0.6)
    todo = [(w, p) for w in workloads for p in w.cases if p.get("quick") or not quick]
    bar = Progress(len(todo) * len(frameworks)) if progress else None
    rows = []
    for w, p in todo:
        rng = np.random.default_rng(seed)
        host = w.inputs(p, rng)
        rtol, atol = w.tol(p) if hasattr(w, "tol") else (w.rtol, w.atol)
        row = {"workload": w.name, "case": w.label(p),
               "params": {k: v for k, v in p.items() if k != "quick"}, "results": {}}
        ref, ref_from = None, None
        # numpy first when present: it is the oracle of the agreement check.
        order = sorted(frameworks, key=lambda f: f.family != "numpy")
        for fw in order:
            if bar:
                bar.step(f"{w.name} {fw.name}")
            res = {"seconds": None, "gflops": None, "status": "n/a"}
            row["results"][fw.name] = res
            build = getattr(w, fw.family, None)
            if build is None:
                continue
            try:
                with fw.context():
                    x = {k: fw.asarray(v) for k, v in host.items()}
                    fn = build(fw, x, p)
                    if fn is None:
                        continue
                    out = fn()
                    fw.sync(out)
                    got = fw.to_numpy(out)
                    if ref is None:
                        ref, ref_from = got, fw.name
                    elif not _agree(ref, got, rtol, atol):
                        res["status"] = f"mismatch vs {ref_from}"
                        continue
                    sec = time_call(fw, fn, budget)
            except Exception as e:  # noqa: BLE001 - a failing framework is reported, not fatal
                res["status"] = f"error: {type(e).__name__}: {str(e)[:80]}"
                continue
            res["seconds"], res["status"] = sec, "ok"
            fl = w.flops(p)
            if fl:
                res["gflops"] = fl / sec / 1e9
        rows.append(row)
    if bar:
        bar.close()
    return rows
