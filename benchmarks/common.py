"""Shared set-up of the speed benchmarks: the problems, their points and
initial weights, the timing protocol and the machine description.

Every implementation (keras-pinn on each backend, the hand-written loops,
DeepXDE) builds its problem from :data:`PROBLEMS` and :func:`make_points`, so
all train the same network on the same number of points with Adam(1e-3),
full batch, float32. Imports only NumPy and the standard library: DeepXDE's
runner imports this file from its own virtual environment.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

NU = 0.01 / np.pi
HELMHOLTZ = {"k": 1.0, "a1": 1.0, "a2": 4.0}

#: name -> network and point counts. ``widths``: hidden layers (tanh);
#: ``n_pde``: collocation points; ``n_ic``/``n_bc``: initial / boundary points.
PROBLEMS = {
    # DeepXDE's Burgers example (examples/pinn_forward/Burgers.py): the table.
    "burgers": {
        "pde": "burgers",
        "widths": [20] * 3,
        "n_pde": 2540,
        "n_ic": 160,
        "n_bc": 80,
        "lower": [-1.0, 0.0],
        "upper": [1.0, 1.0],
        "names": ("x", "t"),
        "what": "Burgers, DeepXDE's example: 3x20 tanh, 2,540 collocation + 160 initial + 80 boundary points",
    },
    # Raissi et al. 2019: 8 x 20 tanh, N_f = 10,000, N_u = 100.
    "raissi": {
        "pde": "burgers",
        "widths": [20] * 8,
        "n_pde": 10_000,
        "n_ic": 50,
        "n_bc": 50,
        "lower": [-1.0, 0.0],
        "upper": [1.0, 1.0],
        "names": ("x", "t"),
        "what": "Burgers, Raissi et al.: 8x20 tanh, 10,000 collocation + 50 initial + 50 boundary points",
    },
    # Helmholtz 2D (Bischof & Kraus 2021's set-up): u = sin(pi x) sin(4 pi y).
    "helmholtz": {
        "pde": "helmholtz",
        "widths": [50] * 4,
        "n_pde": 10_000,
        "n_ic": 0,
        "n_bc": 400,
        "lower": [-1.0, -1.0],
        "upper": [1.0, 1.0],
        "names": ("x", "y"),
        "what": "Helmholtz 2D: 4x50 tanh, 10,000 collocation + 400 boundary points",
    },
}


def problem(name: str, n_pde: int | None = None, width: int | None = None) -> dict:
    """A copy of ``PROBLEMS[name]``, optionally with another number of
    collocation points or hidden width (for the scaling curves)."""
    spec = dict(PROBLEMS[name])
    spec["widths"] = list(spec["widths"])
    if n_pde is not None:
        spec["n_pde"] = int(n_pde)
    if width is not None:
        spec["widths"] = [int(width)] * len(spec["widths"])
    spec["sizes"] = [2] + spec["widths"] + [1]
    return spec


def burgers_initial(x):
    return -np.sin(np.pi * x[:, :1])


def helmholtz_source(x, y, k=HELMHOLTZ["k"], a1=HELMHOLTZ["a1"], a2=HELMHOLTZ["a2"], sin=np.sin):
    """The source q of u_xx + u_yy + k^2 u = q for u = sin(a1 pi x) sin(a2 pi y)."""
    return (k**2 - (a1 * np.pi) ** 2 - (a2 * np.pi) ** 2) * sin(a1 * np.pi * x) * sin(a2 * np.pi * y)


def make_points(spec: dict, seed: int = 0) -> dict:
    """``{"pde": (n, 2), "ic": (n, 2), "ic_y": (n, 1), "bc": (n, 2), "bc_y": (n, 1)}``
    as float32 (``ic`` absent for Helmholtz). Uniform random points; their
    positions do not change the speed, their numbers do."""
    rng = np.random.default_rng(seed)
    lo, hi = np.array(spec["lower"]), np.array(spec["upper"])
    out = {"pde": lo + (hi - lo) * rng.random((spec["n_pde"], 2))}
    if spec["pde"] == "burgers":
        x0 = rng.uniform(-1.0, 1.0, (spec["n_ic"], 1))
        out["ic"] = np.hstack([x0, np.zeros_like(x0)])
        out["ic_y"] = burgers_initial(out["ic"])
        t = rng.uniform(0.0, 1.0, (spec["n_bc"], 1))
        side = np.where(rng.random((spec["n_bc"], 1)) < 0.5, -1.0, 1.0)
        out["bc"] = np.hstack([side, t])
    else:
        n = spec["n_bc"]
        s = rng.uniform(-1.0, 1.0, n)
        face = rng.integers(0, 4, n)
        fixed = np.where(face % 2 == 0, -1.0, 1.0)
        out["bc"] = np.where((face < 2)[:, None], np.stack([fixed, s], 1), np.stack([s, fixed], 1))
    out["bc_y"] = np.zeros((out["bc"].shape[0], 1))
    return {k: np.ascontiguousarray(v, dtype="float32") for k, v in out.items()}


def make_weights(sizes, seed: int = 0):
    """Glorot-uniform kernels ``(in, out)`` and zero biases, float32."""
    rng = np.random.default_rng(seed)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6.0 / (a + b))
        params.append((rng.uniform(-limit, limit, (a, b)).astype("float32"), np.zeros(b, "float32")))
    return params


def load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": load_average(),
    }


class Timer:
    """The timing protocol shared by every implementation.

    ``run(n)`` must run ``n`` training steps (or return the number it ran)
    and return only when they are done (device synchronised). The first call compiles; then a short call
    estimates the speed, and ``windows`` timed windows of ``steps`` steps
    each (chosen to last about ``seconds``) give the median steps/s.
    """

    def __init__(self, windows: int = 6, seconds: float = 2.0, steps: int | None = None, multiple: int = 1):
        self.windows, self.seconds, self.steps, self.multiple = windows, seconds, steps, multiple

    def plan(self, run):
        """Compiles and warms up; returns ``(compile_s, steps_per_window)``,
        a multiple of ``multiple`` (every call made here runs such a
        multiple too, so a trainer that groups steps by a divisor of the
        count compiles its grouped step here, not in a timed window)."""
        m = self.multiple
        start = time.perf_counter()
        run(2 * m if m > 1 else 2)
        compile_s = time.perf_counter() - start
        if self.steps:
            run(max(m, 3))
            return compile_s, self.steps
        n, elapsed = (5 if m == 1 else m), 0.0
        while elapsed < 0.3 and n < 100_000:
            n *= 2
            start = time.perf_counter()
            run(n)
            elapsed = time.perf_counter() - start
        steps = max(5, int(n * self.seconds / max(elapsed, 1e-6)))
        return compile_s, max(m, steps // m * m)

    def measure(self, run) -> dict:
        compile_s, steps = self.plan(run)
        rates, cpu = [], []
        for _ in range(self.windows):
            start, start_cpu = time.perf_counter(), time.process_time()
            done = run(steps) or steps
            rates.append(done / (time.perf_counter() - start))
            cpu.append((time.process_time() - start_cpu) / done)
        return summary(rates, steps, compile_s, cpu)


def summary(rates, steps, compile_s, cpu=None) -> dict:
    """Median steps/s over the windows, the windows themselves, and the
    process's CPU time per step (user + system, all threads): less sensitive
    than wall time to other jobs on a shared machine, but inflated by
    threads that spin while waiting."""
    return {
        "steps_per_s": statistics.median(rates),
        "best_window_steps_per_s": round(max(rates), 2),
        "cpu_ms_per_step": None if not cpu else round(1e3 * statistics.median(cpu), 3),
        "windows": [round(r, 2) for r in rates],
        "steps_per_window": steps,
        "warmup_s": round(compile_s, 2),
    }


#: glibc malloc settings that keep a training step's large temporaries in the
#: process instead of returning them to the OS at every step (the tip in
#: docs/performance.md); ``--malloc tuned`` sets them for every subprocess.
MALLOC_TUNED = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
    "MALLOC_TOP_PAD_": str(1 << 28),
    "MALLOC_ARENA_MAX": "4",
}
#: ``--malloc tuned-arena``: the same with one malloc arena.
MALLOC_MODES = {"default": {}, "tuned": MALLOC_TUNED, "tuned-arena": {**MALLOC_TUNED, "MALLOC_ARENA_MAX": "1"}}


def malloc_env(mode: str) -> dict:
    """Environment variables for ``--malloc default|tuned|tuned-arena``."""
    if mode not in MALLOC_MODES:
        raise ValueError(f"--malloc must be one of {sorted(MALLOC_MODES)}. Received: {mode!r}")
    return dict(MALLOC_MODES[mode])


def add_common_arguments(parser):
    parser.add_argument("--problem", default="burgers", choices=sorted(PROBLEMS))
    parser.add_argument("--n-pde", type=int, default=None, help="override the number of collocation points")
    parser.add_argument("--width", type=int, default=None, help="override the hidden width")
    parser.add_argument("--windows", type=int, default=6, help="timed windows (median taken)")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of a timed window")
    parser.add_argument("--steps", type=int, default=None, help="fixed steps per window (default: from --seconds)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (PyTorch only)")
    parser.add_argument("--json", default=None, help="write the result here as JSON")


def report(result: dict, path: str | None = None):
    """Adds memory and load to ``result``, prints it as one ``RESULT`` line
    (read by compare.py) and writes it to ``path``."""
    result = dict(result)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["load_average_end"] = load_average()
    result["steps_per_s"] = round(result["steps_per_s"], 2)
    line = json.dumps(result)
    print("RESULT " + line, flush=True)
    if path:
        with open(path, "w") as f:
            f.write(line + "\n")
    return result


def set_torch_threads(threads):
    """Pins PyTorch's intra-op threads (and inter-op to 1) when torch is
    imported; returns the count in use."""
    import torch

    if threads:
        torch.set_num_threads(int(threads))
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    return torch.get_num_threads()


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def run_backend_workers(script: str, backends, worker_args: list, malloc: str, describe, cwd: str) -> list:
    """Runs ``script --worker --backend B *worker_args`` once per backend,
    each in its own process with ``KERAS_BACKEND=B`` and the ``--malloc``
    environment; collects the results each prints as a ``RESULT`` line,
    printing each as ``describe(backend, result)`` when it arrives."""
    results = []
    for backend in backends:
        cmd = [sys.executable, os.path.abspath(script), "--worker", "--backend", backend, *worker_args]
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", **malloc_env(malloc))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
        for line in proc.stdout:
            if line.startswith("RESULT "):
                r = json.loads(line[7:])
                results.append(r)
                print(describe(backend, r), flush=True)
        proc.wait()
        if proc.returncode:
            print(f"{backend}: worker exited {proc.returncode}: {proc.stderr.read()[-500:]}")
    return results


def write_json(out: dict, stem: str):
    """Writes ``out`` to ``stem + ".json"``, creating the folder."""
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    with open(stem + ".json", "w") as f:
        json.dump(out, f, indent=1)
