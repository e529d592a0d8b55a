#!/usr/bin/env python3
"""The same measurements as `align4j bench`, in PyTorch, for comparison on the same machine.

    /usr/bin/python3 tools/bench/torch_bench.py --layers 6 --d-model 384 --heads 6 --seq-len 256 \
        --batch-size 8 --vocab 8192 --steps 10

A nanoGPT-style GPT-2 (fused QKV, tanh GELU, tied head, pre-LN), or with --arch llama a
Llama-family decoder written as Hugging Face's LlamaForCausalLM computes it (RMSNorm, rotate-half
rotary embeddings, grouped-query attention by repeating key/value heads, SwiGLU, tied head);
fp32, AdamW; generation uses a KV cache, greedy, prompts of 16 tokens. Prints one JSON object
with the keys of `align4j bench --json`.

    /usr/bin/python3 tools/bench/torch_bench.py --preset smollm2-135m --seq-len 256 --batch-size 4 --steps 5
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(c)
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.c_fc = nn.Linear(c, 4 * c)
        self.mlp_proj = nn.Linear(4 * c, c)

    def attn(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.h, C // self.h).transpose(1, 2)
        k = k.view(B, T, self.h, C // self.h).transpose(1, 2)
        v = v.view(B, T, self.h, C // self.h).transpose(1, 2)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        if T > 1:
            mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
            att = att.masked_fill(~mask, float("-inf"))
        y = att.softmax(dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, v, t, c, l, h):
        super().__init__()
        self.wte = nn.Embedding(v, c)
        self.wpe = nn.Embedding(t, c)
        self.blocks = nn.ModuleList([Block(c, h) for _ in range(l)])
        self.ln_f = nn.LayerNorm(c)

    def forward(self, idx, pos0=0, caches=None):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(pos0, pos0 + T))
        for i, b in enumerate(self.blocks):
            x = b(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.T


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
        self.q_proj = nn.Linear(c, c, bias=False)
        self.k_proj = nn.Linear(c, kv * self.hs, bias=False)
        self.v_proj = nn.Linear(c, kv * self.hs, bias=False)
        self.o_proj = nn.Linear(c, c, bias=False)
        self.post_attention_layernorm = RMSNorm(c)
        self.gate_proj = nn.Linear(c, inter, bias=False)
        self.up_proj = nn.Linear(c, inter, bias=False)
        self.down_proj = nn.Linear(inter, c, bias=False)
        self.inv_freq = 1.0 / (10000.0 ** (torch.arange(0, self.hs, 2).float() / self.hs))

    def attn(self, x, pos0, cache):
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.hs).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.hs).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv, self.hs).transpose(1, 2)
        ang = torch.arange(pos0, pos0 + T).float()[:, None] * self.inv_freq[None, :]
        emb = torch.cat((ang, ang), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        g = self.h // self.kv
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hs))
        if T > 1:
            mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
            att = att.masked_fill(~mask, float("-inf"))
        y = att.softmax(dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, pos0=0, cache=None):
        x = x + self.attn(self.input_layernorm(x), pos0, cache)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, v, c, l, h, kv, inter):
        super().__init__()
        self.embed_tokens = nn.Embedding(v, c)
        self.blocks = nn.ModuleList([LlamaBlock(c, h, kv, inter) for _ in range(l)])
        self.norm = RMSNorm(c)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, pos0=0, caches=None):
        x = self.embed_tokens(idx)
        for i, b in enumerate(self.blocks):
            x = b(x, pos0, None if caches is None else caches[i])
        return self.norm(x) @ self.embed_tokens.weight.T


def main():
    ap = argparse.ArgumentParser()
    for k, d in (("layers", 6), ("d-model", 384), ("heads", 6), ("kv-heads", 0), ("intermediate-size", 0),
                 ("seq-len", 256), ("batch-size", 8), ("vocab", 8192), ("steps", 10), ("gen-tokens", 128),
                 ("threads", 2)):
        ap.add_argument("--" + k, type=int, default=d)
    ap.add_argument("--arch", default="gpt2", choices=["gpt2", "llama"])
    ap.add_argument("--preset", choices=["smollm2-135m"])
    a = ap.parse_args()
    if a.preset == "smollm2-135m":
        a.arch, a.layers, a.d_model, a.heads, a.kv_heads, a.intermediate_size, a.vocab = \
            "llama", 30, 576, 9, 3, 1536, 49152
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.arch == "llama":
        inter = a.intermediate_size or math.ceil(8 * a.d_model / 3 / 64) * 64
        m = Llama(a.vocab, a.d_model, a.layers, a.heads, a.kv_heads or a.heads, inter)
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

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    sec = time.perf_counter() - t0
    tps = a.batch_size * a.seq_len * a.steps / sec

    @torch.no_grad()
    def gen(batch):
        prompt = torch.randint(0, a.vocab, (batch, 16))
        caches = [dict() for _ in m.blocks]
        logits = m(prompt, 0, caches)[:, -1]
        n = 0
        for t in range(a.gen_tokens):
            nxt = logits.argmax(-1, keepdim=True)
            n += batch
            if t == a.gen_tokens - 1:
                break
            logits = m(nxt, 16 + t, caches)[:, -1]
        return n

    res = {}
    for b in (1, 8):
        gen(b)
        t0 = time.perf_counter()
        n = 0
        rounds = 0
        while time.perf_counter() - t0 < 2.0 and rounds < 20:
            n += gen(b)
            rounds += 1
        res[b] = n / (time.perf_counter() - t0)

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
    print(json.dumps({"backend": f"pytorch {torch.__version__}, {torch.get_num_threads()} threads",
                      "parameters": n_params, "train_tokens_per_s": tps, "train_step_ms": 1000 * sec / a.steps,
                      "gen_tokens_per_s_b1": res[1], "gen_tokens_per_s_b8": res[8], "gemm_gflops": best,
                      "mfu": flops_per_token * tps / 1e9 / best}))


if __name__ == "__main__":
    main()
