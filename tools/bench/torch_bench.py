#!/usr/bin/env python3
"""The same measurements as `align4j bench`, in PyTorch, for comparison on the same machine.

    /usr/bin/python3 tools/bench/torch_bench.py --layers 6 --d-model 384 --heads 6 --seq-len 256 \
        --batch-size 8 --vocab 8192 --steps 10

A nanoGPT-style GPT-2 (fused QKV, tanh GELU, tied head, pre-LN), or with --arch llama a
Llama-family decoder written as Hugging Face's LlamaForCausalLM computes it (RMSNorm, rotate-half
rotary embeddings, grouped-query attention, SwiGLU, tied head); fp32, AdamW; decoding with a KV
cache, greedy, after prompts of 16 tokens, at the batches of --decode-batches. Prints one JSON
object with the keys of `align4j bench --json`.

    /usr/bin/python3 tools/bench/torch_bench.py --preset smollm2-135m --seq-len 256 --batch-size 4 --steps 5

Why the earlier version of this script was slow, from torch.autograd.profiler on Debian's
PyTorch 1.13 (OpenBLAS pthreads, 2 cores; tools/bench/torch_profile.py reproduces the tables):
- Threads. torch.set_num_threads(2) starts two OpenMP workers beside OpenBLAS's own two
  pthreads, and both pools spin after each op by default (libgomp ~0.2 s, OpenBLAS 2^28 cycles):
  four busy threads on two cores. The profile showed it as tiny ops costing milliseconds
  (aten::fill_ 23 ms a call zeroing gradients, aten::copy_ 3 ms a call) and a batch-1 decoding
  aten::addmm of a 384 x 1152 weight at 4.7 ms where reading it takes 0.1 ms; CPU seconds per
  decoded token fell 2.5x with passive waiting. The fix is the environment align4j's launcher
  sets: OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4, set below before torch loads
  (an explicit setting in the environment wins).
- One-row products. nn.Linear on a single row goes to sgemm, which packs the whole weight on
  every call: 3.0 ms against torch.addmv's 0.75 ms for a 3072 x 768 weight (same process,
  best of 5). Decoding at batch 1 therefore goes through addmv, as align4j's does through sgemv.
- The KV cache grew by torch.cat every step (a copy of the whole cache per layer per token),
  grouped-query attention copied keys and values with repeat_interleave every step, and every
  forward built its causal mask anew; the cache is now preallocated and written in place,
  decoding attends each key/value head's query group through a view, the mask is built once,
  and decoding runs under torch.inference_mode.
Training keeps nanoGPT's code: its time is in aten::mm/addmm/bmm (the GEMMs), as it should be.
"""
import argparse
import json
import math
import os
import time

# before torch loads its OpenMP runtime and OpenBLAS: idle workers sleep instead of spinning
# (the same settings as the ./align4j launcher; see the docstring)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class Linear(nn.Linear):
    """nn.Linear that sends a single row through addmv (sgemv) rather than addmm (sgemm packs the weight)."""

    def forward(self, x):
        if x.numel() == x.shape[-1]:
            v = x.reshape(-1)
            y = torch.mv(self.weight, v) if self.bias is None else torch.addmv(self.bias, self.weight, v)
            return y.view(*x.shape[:-1], -1)
        return F.linear(x, self.weight, self.bias)


def new_cache(layers, batch, kv_heads, capacity, head_size):
    """Keys and values of every layer, preallocated: [B, kv_heads, capacity, head_size] each."""
    return [{"k": torch.zeros(batch, kv_heads, capacity, head_size),
             "v": torch.zeros(batch, kv_heads, capacity, head_size)} for _ in range(layers)]


def attend(q, k, v, pos0, cache, mask):
    """q [B, H, T, hs], k and v [B, KV, T, hs] of positions pos0..pos0+T-1; H a multiple of KV."""
    B, H, T, hs = q.shape
    kv = k.shape[1]
    if cache is not None:
        cache["k"][:, :, pos0:pos0 + T] = k
        cache["v"][:, :, pos0:pos0 + T] = v
        k, v = cache["k"][:, :, :pos0 + T], cache["v"][:, :, :pos0 + T]
    S = k.shape[2]
    scale = 1.0 / math.sqrt(hs)
    if T == 1:
        # one query per head: each key/value head serves its group of query heads through a view
        att = (q.view(B, kv, H // kv, hs) @ k.transpose(-2, -1)) * scale
        return (att.softmax(dim=-1) @ v).view(B, H, 1, hs)
    if kv != H:
        k = k.repeat_interleave(H // kv, dim=1)
        v = v.repeat_interleave(H // kv, dim=1)
    att = (q @ k.transpose(-2, -1)) * scale
    att = att.masked_fill(~mask[S - T:S, :S], float("-inf"))
    return att.softmax(dim=-1) @ v


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(c)
        self.c_attn = Linear(c, 3 * c)
        self.c_proj = Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.c_fc = Linear(c, 4 * c)
        self.mlp_proj = Linear(4 * c, c)

    def attn(self, x, pos0, cache, mask):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.h, C // self.h).transpose(1, 2)
        k = k.view(B, T, self.h, C // self.h).transpose(1, 2)
        v = v.view(B, T, self.h, C // self.h).transpose(1, 2)
        y = attend(q, k, v, pos0, cache, mask)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, pos0, cache, mask):
        x = x + self.attn(self.ln_1(x), pos0, cache, mask)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, v, t, c, l, h):
        super().__init__()
        self.kv_heads, self.head_size = h, c // h
        self.wte = nn.Embedding(v, c)
        self.wpe = nn.Embedding(t, c)
        self.blocks = nn.ModuleList([Block(c, h) for _ in range(l)])
        self.ln_f = nn.LayerNorm(c)
        self.register_buffer("mask", torch.ones(t, t, dtype=torch.bool).tril(), persistent=False)

    def forward(self, idx, pos0=0, caches=None):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(pos0, pos0 + T))
        for i, b in enumerate(self.blocks):
            x = b(x, pos0, None if caches is None else caches[i], self.mask)
        return F.linear(self.ln_f(x), self.wte.weight)


class RMSNorm(nn.Module):
    def __init__(self, c, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, c, h, kv, inter):
        super().__init__()
        self.h, self.kv, self.hs = h, kv, c // h
        self.input_layernorm = RMSNorm(c)
        self.q_proj = Linear(c, c, bias=False)
        self.k_proj = Linear(c, kv * self.hs, bias=False)
        self.v_proj = Linear(c, kv * self.hs, bias=False)
        self.o_proj = Linear(c, c, bias=False)
        self.post_attention_layernorm = RMSNorm(c)
        self.gate_proj = Linear(c, inter, bias=False)
        self.up_proj = Linear(c, inter, bias=False)
        self.down_proj = Linear(inter, c, bias=False)

    def attn(self, x, cos, sin, pos0, cache, mask):
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.hs).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.hs).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv, self.hs).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        y = attend(q, k, v, pos0, cache, mask)
        return self.o_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, cos, sin, pos0, cache, mask):
        x = x + self.attn(self.input_layernorm(x), cos, sin, pos0, cache, mask)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, v, t, c, l, h, kv, inter):
        super().__init__()
        self.kv_heads, self.head_size = kv, c // h
        self.embed_tokens = nn.Embedding(v, c)
        self.blocks = nn.ModuleList([LlamaBlock(c, h, kv, inter) for _ in range(l)])
        self.norm = RMSNorm(c)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)
        hs = c // h
        inv_freq = 1.0 / (10000.0 ** (torch.arange(0, hs, 2).float() / hs))
        ang = torch.arange(t).float()[:, None] * inv_freq[None, :]
        emb = torch.cat((ang, ang), dim=-1)
        # the rotary tables of every position, once (as Hugging Face's rotary embedding caches them)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)
        self.register_buffer("mask", torch.ones(t, t, dtype=torch.bool).tril(), persistent=False)

    def forward(self, idx, pos0=0, caches=None):
        T = idx.shape[1]
        x = self.embed_tokens(idx)
        cos, sin = self.cos[pos0:pos0 + T], self.sin[pos0:pos0 + T]
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, pos0, None if caches is None else caches[i], self.mask)
        return F.linear(self.norm(x), self.embed_tokens.weight)


def main():
    ap = argparse.ArgumentParser()
    for k, d in (("layers", 6), ("d-model", 384), ("heads", 6), ("kv-heads", 0), ("intermediate-size", 0),
                 ("seq-len", 256), ("batch-size", 8), ("vocab", 8192), ("steps", 10), ("gen-tokens", 128),
                 ("threads", 2)):
        ap.add_argument("--" + k, type=int, default=d)
    ap.add_argument("--arch", default="gpt2", choices=["gpt2", "llama"])
    ap.add_argument("--preset", choices=["smollm2-135m"])
    ap.add_argument("--decode-batches", default="1,8", help="comma-separated batch sizes for decoding")
    ap.add_argument("--no-train", action="store_true", help="skip the training measurement")
    a = ap.parse_args()
    if a.preset == "smollm2-135m":
        a.arch, a.layers, a.d_model, a.heads, a.kv_heads, a.intermediate_size, a.vocab = \
            "llama", 30, 576, 9, 3, 1536, 49152
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.arch == "llama":
        inter = a.intermediate_size or math.ceil(8 * a.d_model / 3 / 64) * 64
        m = Llama(a.vocab, a.seq_len, a.d_model, a.layers, a.heads, a.kv_heads or a.heads, inter)
    else:
        m = GPT(a.vocab, a.seq_len, a.d_model, a.layers, a.heads)
    n_params = sum(p.numel() for p in m.parameters())
    opt = torch.optim.AdamW(m.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    x = torch.randint(0, a.vocab, (a.batch_size, a.seq_len))
    y = torch.randint(0, a.vocab, (a.batch_size, a.seq_len))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x).view(-1, a.vocab), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        return float(loss)

    tps, sec = float("nan"), float("nan")
    if not a.no_train:
        for _ in range(3):
            step()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        sec = time.perf_counter() - t0
        tps = a.batch_size * a.seq_len * a.steps / sec

    prompt_len = max(1, min(16, a.seq_len - a.gen_tokens))

    @torch.inference_mode()
    def gen(batch):
        """Generated tokens/s of one greedy generation, the prompt's prefill included (as align4j bench)."""
        prompt = torch.randint(0, a.vocab, (batch, prompt_len))
        caches = new_cache(len(m.blocks), batch, m.kv_heads, prompt_len + a.gen_tokens, m.head_size)
        t0 = time.perf_counter()
        logits = m(prompt, 0, caches)[:, -1]
        for t in range(a.gen_tokens - 1):
            nxt = logits.argmax(-1, keepdim=True)
            logits = m(nxt, prompt_len + t, caches)[:, -1]
        logits.argmax(-1)
        return batch * a.gen_tokens / (time.perf_counter() - t0)

    decode = {}
    for b in [int(s) for s in a.decode_batches.split(",")]:
        gen(b)
        rates = []
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 2.0 and len(rates) < 5:
            rates.append(gen(b))
        decode[b] = sorted(rates)[len(rates) // 2]
    # prefill: the prompt's forward through the cache, one full-length batch of the training shape
    pre_tokens = a.batch_size * (a.seq_len - 1)
    with torch.inference_mode():
        def prefill():
            caches = new_cache(len(m.blocks), a.batch_size, m.kv_heads, a.seq_len, m.head_size)
            t0 = time.perf_counter()
            m(x[:, :-1], 0, caches)
            return time.perf_counter() - t0
        prefill()
        prefill_tps = pre_tokens / min(prefill() for _ in range(3))

    A = torch.rand(1024, 1024)
    B = torch.rand(1024, 1024)
    best = 0
    for _ in range(3):
        t0 = time.perf_counter()
        k = 0
        while time.perf_counter() - t0 < 0.3:
            A @ B
            k += 1
        best = max(best, 2 * 1024 ** 3 / ((time.perf_counter() - t0) / k) / 1e9)
    flops_per_token = 6 * n_params + 12 * a.layers * a.seq_len * a.d_model
    out = {"backend": f"pytorch {torch.__version__}, {torch.get_num_threads()} threads",
           "parameters": n_params, "train_tokens_per_s": tps, "train_step_ms": 1000 * sec / a.steps,
           "decode_tokens_per_s": {str(b): r for b, r in decode.items()},
           "prefill_tokens_per_s": prefill_tps, "gemm_gflops": best,
           "mfu": flops_per_token * tps / 1e9 / best}
    for b in (1, 8):
        if b in decode:
            out[f"gen_tokens_per_s_b{b}"] = decode[b]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
