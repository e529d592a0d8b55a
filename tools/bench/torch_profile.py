#!/usr/bin/env python3
"""torch.autograd.profiler tables of torch_bench.py's GPT-2 shape: one training step, and 32 tokens
decoded at batch 1, slowest operators first.

    /usr/bin/python3 tools/bench/torch_profile.py
    OMP_WAIT_POLICY=ACTIVE OPENBLAS_THREAD_TIMEOUT=28 /usr/bin/python3 tools/bench/torch_profile.py  # spinning, as before

Importing torch_bench sets the same thread environment as its benchmark (unless already set).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bench as tb  # noqa: E402  (sets OMP_WAIT_POLICY before torch loads)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)
V, T, B = 8192, 256, 8
m = tb.GPT(V, T, 384, 6, 6)
opt = torch.optim.AdamW(m.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
x = torch.randint(0, V, (B, T))
y = torch.randint(0, V, (B, T))


def step():
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(m(x).view(-1, V), y.view(-1)).backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()


@torch.inference_mode()
def decode(batch, n=32):
    caches = tb.new_cache(len(m.blocks), batch, m.kv_heads, 16 + n, m.head_size)
    logits = m(torch.randint(0, V, (batch, 16)), 0, caches)[:, -1]
    for t in range(n):
        logits = m(logits.argmax(-1, keepdim=True), 16 + t, caches)[:, -1]


print("OMP_WAIT_POLICY", os.environ["OMP_WAIT_POLICY"], "OPENBLAS_THREAD_TIMEOUT", os.environ["OPENBLAS_THREAD_TIMEOUT"])
for name, f in (("training step", step), ("32 tokens decoded at batch 1", lambda: decode(1))):
    f()
    f()
    with torch.autograd.profiler.profile() as p:
        f()
    print(name)
    print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
