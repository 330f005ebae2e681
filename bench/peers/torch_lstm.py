#!/usr/bin/python3
"""PyTorch nn.LSTM, one benchmark case per process; prints one JSON line on stdout.

Run with Debian's python3-torch (torch 1.13) as run.mjs does:
  OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=1 /usr/bin/python3 peers/torch_lstm.py --case W1 [--reps 7] [--min-time 0.5]
  /usr/bin/python3 peers/torch_lstm.py --info
Debian's torch sends its GEMMs to OpenBLAS (libblas.so.3), whose pool is sized by OPENBLAS_NUM_THREADS;
torch's own intra-op threads stay at 1 (OMP_NUM_THREADS=1): the fastest setting on 2 cores
(2 OpenMP + 2 OpenBLAS threads oversubscribe and run 1.7-5.6x slower).

Cases: W1/W3/W4 forward under no_grad (eval mode); W2/W3t a training step: forward, MSE of the last
layer's final hidden state against a fixed random target, backward, Adam (lr 1e-3).
FLOPs: gate GEMMs only, 2*4H*(I+H) per step, sample and layer; 3x that for a training step.
"""
import argparse
import json
import os
import statistics
import sys
import time

WORKLOADS = {
    "W1": dict(I=64, H=256, L=1, B=32, T=100),
    "W3": dict(I=512, H=512, L=2, B=64, T=50),
    "W4": dict(I=32, H=128, L=1, B=1, T=50),
}
CASES = {"W1": ("W1", "forward"), "W2": ("W1", "train"), "W3": ("W3", "forward"),
         "W3t": ("W3", "train"), "W4": ("W4", "forward")}


def fwd_flops(w):
    f = 0
    for layer in range(w["L"]):
        i = w["I"] if layer == 0 else w["H"]
        f += 2 * 4 * w["H"] * (i + w["H"])
    return f * w["T"] * w["B"]


def timeit(fn, reps, min_time, max_sec, warmup=2, warmup_sec=1.0):
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    if one < 2 and warmup > 1:
        t0 = time.perf_counter()
        for _ in range(warmup - 1):
            fn()
        one = (time.perf_counter() - t0) / (warmup - 1)
    # then warm-up calls for warmup_sec (unless one call takes that long), as bench/lib/common.mjs
    t0 = time.perf_counter()
    while one < warmup_sec and time.perf_counter() - t0 < warmup_sec:
        fn()
    iters = max(1, int(-(-min_time // max(one, 1e-7))))
    runs = reps
    if one * iters * runs > max_sec:
        runs = max(1, int(max_sec // (one * iters)))
    per = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        per.append((time.perf_counter() - t0) / iters)
    return statistics.median(per), min(per), runs, iters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--max-sec", type=float, default=30)
    ap.add_argument("--warmup-sec", type=float, default=1.0)
    ap.add_argument("--info", action="store_true")
    a = ap.parse_args()

    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    env = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    if a.info:
        print(json.dumps(dict(ok=True, version=torch.__version__, torch_threads=torch.get_num_threads(), env=env)))
        return
    if not a.case:
        ap.error("--case or --info")
    torch.manual_seed(0)
    shapes, mode = CASES[a.case]
    w = WORKLOADS[shapes]
    m = torch.nn.LSTM(w["I"], w["H"], w["L"])
    x = torch.randn(w["T"], w["B"], w["I"])  # (T, B, I) like the other systems
    if mode == "forward":
        m.eval()

        def fn():
            with torch.no_grad():
                m(x)
    else:
        m.train()
        target = torch.randn(w["B"], w["H"])
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        lossf = torch.nn.MSELoss()

        def fn():
            opt.zero_grad()
            _, (h, _) = m(x)
            lossf(h[-1], target).backward()
            opt.step()

    sec, best, runs, iters = timeit(fn, a.reps, a.min_time, a.max_sec, warmup_sec=a.warmup_sec)
    flops = (3 if mode == "train" else 1) * fwd_flops(w)
    print(json.dumps(dict(ok=True, sec_per_call=sec, best_sec=best, reps=runs, iters=iters,
                          seq_per_s=w["B"] / sec, gflops=flops / sec / 1e9, ms_per_seq=sec / w["B"] * 1e3,
                          version=torch.__version__, torch_threads=torch.get_num_threads(), env=env)))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for run.mjs, non-zero exit
        print(json.dumps(dict(ok=False, error=f"{type(e).__name__}: {e}")))
        sys.exit(1)
