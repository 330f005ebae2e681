#!/usr/bin/python3
"""Peak RSS of PyTorch's W3 training step (I 512, H 512, 2 layers, B 64, T 50; MSE on the last h,
Adam), for bench/memory-w3.mjs. Prints one JSON line."""
import json
import resource

import torch

I, H, L, B, T = 512, 512, 2, 64, 50
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
torch.manual_seed(1)
lstm = torch.nn.LSTM(I, H, L)
opt = torch.optim.Adam(lstm.parameters(), lr=1e-3)
x = torch.randn(T, B, I)
target = torch.full((B, H), 0.1)
for _ in range(5):
    _, (h, _) = lstm(x)
    loss = torch.nn.functional.mse_loss(h[-1], target)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(json.dumps({"peakMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "baseMiB": base}))
