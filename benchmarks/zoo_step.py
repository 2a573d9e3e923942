"""One training step of each torchvision classification model, tinyconv against PyTorch.

The models come from torchvision's own source, loaded by tests/zoo_loader.py as in
tests/test_torchvision_zoo.py (same builders, inputs and weights). A step is forward,
cross-entropy loss, backward and an SGD (momentum) step in float32, in train mode. Both
libraries run with the same thread count (1 unless --threads says otherwise; NumPy's BLAS
threads are pinned through the environment before NumPy is imported). Prints one row per
model: median step time of each library and the median of the paired ratios tinyconv /
PyTorch (the two run interleaved, step by step).

    python benchmarks/zoo_step.py [--threads N] [--repeats R] [--model resnet18 ...]

Needs PyTorch and the torchvision wheel (TINYCONV_TORCHVISION_WHEEL, see zoo_loader).
Benchmarks print; they never fail a build.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", action="append", help="builder names (default: all)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: the process's CPU time (time.process_time), which on a loaded machine leaves "
        "out the time the step waits for a core; meaningful at --threads 1 only (spinning "
        "BLAS or OpenMP threads count in it)",
    )
    parser.add_argument(
        "--profile", type=int, metavar="TOP", help="cProfile tinyconv's steps, print TOP rows"
    )
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [root, os.path.join(root, "tests")]

    import numpy as np
    import torch
    from zoo_loader import ZooPackage, find_wheel

    import tinyconv

    torch.set_num_threads(args.threads)
    if hasattr(tinyconv, "set_num_threads"):
        tinyconv.set_num_threads(args.threads)
    wheel = find_wheel()
    if wheel is None:
        print("zoo_step: no torchvision wheel found (set TINYCONV_TORCHVISION_WHEEL)")
        return
    from test_torchvision_zoo import SPECS, _build, _load, _perturbed_state, _set_dropout

    packages = {"torch": ZooPackage(wheel, "torch"), "tinyconv": ZooPackage(wheel, "tinyconv")}
    print(
        f"threads={args.threads}  clock={args.clock}  float32, train mode, "
        "forward + loss + backward + SGD step"
    )
    print(f"{'model':44s} {'input':>12s} {'torch ms':>10s} {'tinyconv ms':>12s} {'ratio':>7s}")
    for spec in SPECS:
        if args.model and spec.builder not in args.model:
            continue
        models = {lib: _build(packages[lib], spec) for lib in packages}
        state = _perturbed_state(models["torch"], 0)
        rng = np.random.default_rng(1)
        x = rng.standard_normal((spec.batch, spec.channels, spec.size, spec.size))
        x = x.astype(np.float32)
        y = rng.integers(0, 10, spec.batch)
        steps = {}
        for lib, model in models.items():
            L = torch if lib == "torch" else tinyconv
            _load(model, state, lib, "float32")
            model.train()
            _set_dropout(model, 0.0, {})
            opt = L.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
            xt, yt = L.tensor(x), L.tensor(y)

            def step(model=model, L=L, opt=opt, xt=xt, yt=yt) -> None:
                out = model(xt)
                outs = [o for o in out if o is not None] if isinstance(out, tuple) else [out]
                loss = sum(L.nn.functional.cross_entropy(o, yt) for o in outs)
                opt.zero_grad()
                loss.backward()
                opt.step()

            step()  # warm-up
            steps[lib] = step
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.repeats):
                steps["tinyconv"]()
            prof.disable()
            pstats.Stats(prof).strip_dirs().sort_stats("tottime").print_stats(args.profile)
            continue
        # Interleaved (tinyconv, torch, torch, tinyconv, ...) so that the drift, which on a
        # shared machine is up to 2x over a minute, hits both libraries alike.
        clock = time.process_time if args.clock == "cpu" else time.perf_counter
        samples: dict[str, list[float]] = {lib: [] for lib in steps}
        for i in range(args.repeats):
            # each goes first every other time: a step runs slower right after the other
            # library's (caches), by ~8% on ShuffleNetV2 in a run of identical variants
            for lib in sorted(steps, reverse=i % 2 == 1):
                step = steps[lib]
                t0 = clock()
                step()
                samples[lib].append(clock() - t0)
        times = {lib: sorted(s)[len(s) // 2] for lib, s in samples.items()}
        pairs = sorted(a / b for a, b in zip(samples["tinyconv"], samples["torch"], strict=True))
        shape = f"{spec.batch}x{spec.channels}x{spec.size}x{spec.size}"
        print(
            f"{spec.id[:44]:44s} {shape:>12s} {times['torch'] * 1e3:10.1f} "
            f"{times['tinyconv'] * 1e3:12.1f} {pairs[len(pairs) // 2]:7.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
