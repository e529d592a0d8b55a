#!/usr/bin/env python3
"""Golden fixtures for align4j's GPT-2 from an independent PyTorch implementation.

Run with Debian's PyTorch (never needed by the build or the tests):
    apt-get install python3-torch libopenblas0-pthread
    /usr/bin/python3 tools/reference/gpt2_reference.py core/src/test/resources/fixtures/gpt2-tiny \
        reward/src/test/resources/fixtures/reward-tiny dpo/src/test/resources/fixtures/dpo-tiny \
        ppo/src/test/resources/fixtures/ppo-tiny core/src/test/resources/fixtures/lora-tiny \
        core/src/test/resources/fixtures/llama-tiny kto/src/test/resources/fixtures/kto-tiny \
        distill/src/test/resources/fixtures/gkd core/src/test/resources/fixtures/lora-dora-tiny
    /usr/bin/python3 tools/reference/gpt2_reference.py --kto-only kto/src/test/resources/fixtures/kto-tiny
    /usr/bin/python3 tools/reference/gpt2_reference.py --gkd-only distill/src/test/resources/fixtures/gkd

Writes, for a small GPT-2 with fixed random weights (all computed in float64):
  model/            HF layout as GPT2LMHeadModel saves it: 'transformer.' prefix, lm_head.weight,
                    attn.bias / attn.masked_bias buffers, F32
  model-f16/        the same weights as F16 without prefix (as GPT2Model saves), model-bf16/ as BF16
  expected.safetensors  logits, loss gradient of every parameter ('grad.<name>')
  expected.json     the batch, the loss, and the losses of 5 AdamW steps with warmup+cosine,
                    weight decay and gradient clipping
and, for a reward model (reward-tiny/): the GPT2ForSequenceClassification layout, scores at the last
real token of a right-padded batch, the pairwise loss with margins and centering over two pairs and
a 3-way ranking with a tie, and every parameter gradient; for the DPO family (dpo-tiny/): each loss
(sigmoid, cDPO, robust, IPO, hinge, SimPO, ORPO, RPO) over a padded batch of pairs with masked
prompts and fixed reference log-probabilities, and every parameter gradient; for PPO (ppo-tiny/): a
fixed rollout batch through a policy and a value model, the clipped surrogate and clipped value
losses, and every gradient of both; for KTO (kto-tiny/): unpaired examples with their mismatched KL
sequences, the KTO loss (plain, weighted, KL clamped at 0) and APO-zero unpaired, every gradient;
for distillation (gkd/): GKD's generalized Jensen-Shannon divergence of student and teacher logits
(beta 0, 0.5, 0.9, 1; temperature 1 and 2) over masked tokens with TRL's batchmean reduction, and its
gradient with respect to the student logits.
The attention rule is align4j's: key j is visible to query i iff j <= i and (j is not padding or j == i).
"""
import json
import math
import os
import struct
import sys

import torch

torch.manual_seed(1234)
DT = torch.float64

CFG = dict(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4, layer_norm_epsilon=1e-5)
V, P, C, L, H = CFG["vocab_size"], CFG["n_positions"], CFG["n_embd"], CFG["n_layer"], CFG["n_head"]
EPS = CFG["layer_norm_epsilon"]


def init_params():
    p = {}
    p["wte.weight"] = torch.randn(V, C, dtype=DT) * 0.3
    p["wpe.weight"] = torch.randn(P, C, dtype=DT) * 0.1
    for i in range(L):
        h = f"h.{i}."
        p[h + "ln_1.weight"] = 1 + 0.2 * torch.randn(C, dtype=DT)
        p[h + "ln_1.bias"] = 0.1 * torch.randn(C, dtype=DT)
        p[h + "attn.c_attn.weight"] = torch.randn(C, 3 * C, dtype=DT) * 0.2
        p[h + "attn.c_attn.bias"] = torch.randn(3 * C, dtype=DT) * 0.1
        p[h + "attn.c_proj.weight"] = torch.randn(C, C, dtype=DT) * 0.2
        p[h + "attn.c_proj.bias"] = torch.randn(C, dtype=DT) * 0.1
        p[h + "ln_2.weight"] = 1 + 0.2 * torch.randn(C, dtype=DT)
        p[h + "ln_2.bias"] = 0.1 * torch.randn(C, dtype=DT)
        p[h + "mlp.c_fc.weight"] = torch.randn(C, 4 * C, dtype=DT) * 0.2
        p[h + "mlp.c_fc.bias"] = torch.randn(4 * C, dtype=DT) * 0.1
        p[h + "mlp.c_proj.weight"] = torch.randn(4 * C, C, dtype=DT) * 0.1
        p[h + "mlp.c_proj.bias"] = torch.randn(C, dtype=DT) * 0.1
    p["ln_f.weight"] = 1 + 0.2 * torch.randn(C, dtype=DT)
    p["ln_f.bias"] = 0.1 * torch.randn(C, dtype=DT)
    return p


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def layer_norm(x, g, b):
    return torch.nn.functional.layer_norm(x, (C,), g, b, EPS)


def lora_delta(x, name, lora):
    """PEFT's LoRA on a GPT-2 Conv1D (fan_in_fan_out): s * (x A^T) B^T, A [r, in], B [out, r].
    With a DoRA magnitude m [out] (PEFT's lora_magnitude_vector, DoraLinearLayer.forward without
    dropout): the norm of W^T + s B A over its input dimension, detached; g = m / norm; the module's
    output gains (g - 1) (x W) + g * s (x A^T) B^T, the bias untouched."""
    A, B = lora["w"][name + ".lora_A.weight"], lora["w"][name + ".lora_B.weight"]
    s = lora["scale"]
    delta = (x @ A.T @ B.T) * s
    mag = lora["w"].get(name + ".lora_magnitude_vector")
    if mag is None:
        return delta
    W = lora["base"][name + ".weight"]  # Conv1D [in, out]
    norm = torch.linalg.norm(W.T + s * (B @ A).detach(), dim=1).detach()
    g = (mag / norm).view(1, -1)
    return (g - 1) * (x @ W) + g * delta


def dora_merged(p, lora):
    """PEFT's DoRA merge for fan_in_fan_out: W' = (m / ||W^T + s B A||)^T * (W + s (B A)^T), per column."""
    q = dict(p)
    s = lora["scale"]
    for k in lora["w"]:
        if k.endswith(".lora_A.weight"):
            name = k[:-len(".lora_A.weight")]
            A, B, m = lora["w"][k], lora["w"][name + ".lora_B.weight"], lora["w"][name + ".lora_magnitude_vector"]
            delta = (B @ A).T * s
            W = p[name + ".weight"]
            norm = torch.linalg.norm((W + delta).T, dim=1)
            q[name + ".weight"] = (m / norm).view(1, -1) * (W + delta)
    return q


def forward_hidden(p, tokens, positions, mask, lora=None):
    B, T = tokens.shape
    x = p["wte.weight"][tokens] + p["wpe.weight"][positions]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    eye = torch.eye(T, dtype=torch.bool)
    visible = causal & (mask.bool()[:, None, None, :] | eye)  # [B,1,T,T]
    hs = C // H
    for i in range(L):
        h = f"h.{i}."
        a = layer_norm(x, p[h + "ln_1.weight"], p[h + "ln_1.bias"])
        qkv = a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]
        if lora is not None:
            qkv = qkv + lora_delta(a, h + "attn.c_attn", lora)
        q, k, v = qkv.split(C, dim=2)
        q = q.view(B, T, H, hs).transpose(1, 2)
        k = k.view(B, T, H, hs).transpose(1, 2)
        v = v.view(B, T, H, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~visible, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        if lora is None:
            x = x + y @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        else:
            x = x + (y @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"] + lora_delta(y, h + "attn.c_proj", lora))
        m = layer_norm(x, p[h + "ln_2.weight"], p[h + "ln_2.bias"])
        if lora is None:
            m = gelu_tanh(m @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"])
            x = x + m @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
        else:
            m = gelu_tanh(m @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"] + lora_delta(m, h + "mlp.c_fc", lora))
            x = x + (m @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"] + lora_delta(m, h + "mlp.c_proj", lora))
    return layer_norm(x, p["ln_f.weight"], p["ln_f.bias"])


def forward(p, tokens, positions, mask, lora=None):
    return forward_hidden(p, tokens, positions, mask, lora) @ p["wte.weight"].T


def loss_fn(logits, targets, weights):
    logp = torch.log_softmax(logits.reshape(-1, V), dim=-1)
    picked = logp.gather(1, targets.reshape(-1, 1)).squeeze(1)
    return -(weights.reshape(-1) * picked).sum()


def lm_batch(vocab, pad_from, B=2, T=8):
    """A right-padded batch of random tokens (the second sequence padded from pad_from), its
    positions, random targets, and loss weights normalised over real tokens with the first masked."""
    tokens = torch.randint(0, vocab, (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, pad_from:] = 0
    tokens[1, pad_from:] = 0
    positions = torch.arange(T).repeat(B, 1)
    targets = torch.randint(0, vocab, (B, T))
    lw = mask.to(DT).clone()
    lw[:, 0] = 0
    return B, T, tokens, mask, positions, targets, lw / lw.sum()


def lr_at(step, lr=1e-2, warmup=2, total=5, min_ratio=0.1):
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    lo = lr * min_ratio
    return lo + (lr - lo) * 0.5 * (1 + math.cos(math.pi * progress))


def write_safetensors(path, tensors, dtype="F32"):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if dtype == "F32":
            data = t.to(torch.float32).numpy().tobytes()
        elif dtype == "F16":
            data = t.to(torch.float16).numpy().tobytes()
        elif dtype == "BF16":
            data = t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_config(d):
    os.makedirs(d, exist_ok=True)
    cfg = dict(CFG, model_type="gpt2", architectures=["GPT2LMHeadModel"], activation_function="gelu_new",
               n_ctx=P, n_inner=None, bos_token_id=V - 1, eos_token_id=V - 1, resid_pdrop=0.1)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def main(out):
    os.makedirs(out, exist_ok=True)
    p = init_params()
    # what a real GPT2LMHeadModel checkpoint holds: prefix, tied head, causal-mask buffers
    real = {}
    for name, t in p.items():
        real["transformer." + name] = t
    for i in range(L):
        real[f"transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
        real[f"transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    real["lm_head.weight"] = p["wte.weight"]
    write_config(os.path.join(out, "model"))
    write_safetensors(os.path.join(out, "model", "model.safetensors"), real)
    for dt, d in (("F16", "model-f16"), ("BF16", "model-bf16")):
        write_config(os.path.join(out, d))
        write_safetensors(os.path.join(out, d, "model.safetensors"), p, dt)

    # the weights as stored in F32 are the weights the Java side starts from
    p = {k: v.to(torch.float32).to(DT).requires_grad_(True) for k, v in p.items()}
    B, T, tokens, mask, positions, targets, lw = lm_batch(V, 6)  # right padding, a masked prompt token
    tokens[0, 5] = tokens[0, 2]  # a repeated token

    logits = forward(p, tokens, positions, mask)
    loss = loss_fn(logits, targets, lw)
    loss.backward()
    expected = {"logits": logits.reshape(B * T, V)}
    for k, v in p.items():
        expected["grad." + k] = v.grad
    write_safetensors(os.path.join(out, "expected.safetensors"), expected)

    # 5 AdamW steps: decay on 2-D tensors only, clipping, warmup + cosine
    decay = [v for k, v in p.items() if v.dim() >= 2]
    no_decay = [v for k, v in p.items() if v.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.95), eps=1e-8)
    losses, norms = [], []
    for step in range(5):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        opt.zero_grad()
        l = loss_fn(forward(p, tokens, positions, mask), targets, lw)
        l.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0)))
        opt.step()
        losses.append(float(l))

    meta = {
        "config": CFG, "batch": B, "time": T,
        "tokens": tokens.reshape(-1).tolist(), "positions": positions.reshape(-1).tolist(),
        "key_mask": mask.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
        "loss_weights": lw.reshape(-1).tolist(), "loss": float(loss),
        "adamw": {"lr": 1e-2, "warmup": 2, "total": 5, "min_ratio": 0.1, "betas": [0.9, 0.95], "eps": 1e-8,
                  "weight_decay": 0.1, "max_grad_norm": 1.0, "losses": losses, "grad_norms": norms},
        "torch_version": torch.__version__,
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote fixtures to {out}: loss {float(loss):.6f}, adamw losses {losses}")


def reward_fixture(out):
    """Reward model: GPT2ForSequenceClassification layout, scores at the last real token of a
    right-padded batch, pairwise loss with margins and centering, a K=3 ranking with a tie."""
    torch.manual_seed(4321)
    os.makedirs(os.path.join(out, "model"), exist_ok=True)
    p = init_params()
    p["score.weight"] = torch.randn(1, C, dtype=DT) * 0.3
    stored = {("score.weight" if k == "score.weight" else "transformer." + k): v for k, v in p.items()}
    write_safetensors(os.path.join(out, "model", "model.safetensors"), stored)
    cfg = dict(CFG, model_type="gpt2", architectures=["GPT2ForSequenceClassification"], activation_function="gelu_new",
               n_ctx=P, n_inner=None, bos_token_id=V - 1, eos_token_id=V - 1, num_labels=1, pad_token_id=V - 1)
    with open(os.path.join(out, "model", "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    p = {k: v.to(torch.float32).to(DT).requires_grad_(True) for k, v in p.items()}

    lengths = [7, 4, 8, 5, 6, 3, 5]  # pair A (0,1), pair B (2,3), ranking C (4,5,6)
    seqs = [torch.randint(0, V - 1, (n,)) for n in lengths]
    B, T = len(seqs), max(lengths)
    tokens = torch.full((B, T), V - 1, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.long)
    for i, s in enumerate(seqs):
        tokens[i, :len(s)] = s
        mask[i, :len(s)] = 1
    positions = torch.arange(T).repeat(B, 1)
    hidden = forward_hidden(p, tokens, positions, mask)
    last = torch.tensor(lengths) - 1
    rewards = (hidden[torch.arange(B), last] @ p["score.weight"].T).squeeze(1)

    center = 0.05
    # groups: (pairs as (better, worse, weight, margin)); each group counts once in the mean
    groups = [[(0, 1, 1.0, 0.0)], [(2, 3, 1.0, 0.5)], [(4, 5, 0.5, 0.0), (4, 6, 0.5, 0.0)]]
    loss = 0
    for g in groups:
        for b, w, weight, margin in g:
            z = rewards[b] - rewards[w] - margin
            loss = loss + weight * (-torch.nn.functional.logsigmoid(z) + center * (rewards[b] + rewards[w]) ** 2)
    loss = loss / len(groups)
    loss.backward()
    expected = {"grad." + k: v.grad for k, v in p.items()}
    write_safetensors(os.path.join(out, "expected.safetensors"), expected)
    meta = {"sequences": [s.tolist() for s in seqs], "center": center,
            "groups": [[list(pair) for pair in g] for g in groups], "rewards": rewards.tolist(), "loss": float(loss),
            "torch_version": torch.__version__}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote reward fixtures to {out}: loss {float(loss):.6f}")


def dpo_losses(lc, lr, rc, rr, nc, nr, kind, beta, eps=0.0, gamma=0.5, lam=0.1, alpha=0.0):
    """The DPO family, written from the papers (TRL's names); one value per pair."""
    F = torch.nn.functional
    d = (lc - rc) - (lr - rr)
    if kind == "sigmoid":
        loss = -(1 - eps) * F.logsigmoid(beta * d) - eps * F.logsigmoid(-beta * d)
    elif kind == "robust":
        loss = (-(1 - eps) * F.logsigmoid(beta * d) + eps * F.logsigmoid(-beta * d)) / (1 - 2 * eps)
    elif kind == "ipo":
        loss = ((lc - rc) / nc - (lr - rr) / nr - 1 / (2 * beta)) ** 2
    elif kind == "hinge":
        loss = torch.relu(1 - beta * d)
    elif kind == "simpo":
        loss = -F.logsigmoid(beta * (lc / nc - lr / nr) - gamma)
    elif kind == "orpo":
        ac, ar = lc / nc, lr / nr
        log_odds = (ac - torch.log1p(-torch.exp(ac))) - (ar - torch.log1p(-torch.exp(ar)))
        loss = -ac - lam * F.logsigmoid(log_odds)
    if alpha > 0:
        loss = loss - alpha * lc / nc
    return loss


DPO_CASES = [  # name, kind, beta, label smoothing, gamma, lambda, rpo alpha
    ("sigmoid", "sigmoid", 0.1, 0.0, 0.0, 0.0, 0.0), ("cdpo", "sigmoid", 0.5, 0.1, 0.0, 0.0, 0.0),
    ("robust", "robust", 0.5, 0.1, 0.0, 0.0, 0.0), ("ipo", "ipo", 0.5, 0.0, 0.0, 0.0, 0.0),
    ("hinge", "hinge", 0.1, 0.0, 0.0, 0.0, 0.0), ("simpo", "simpo", 2.0, 0.0, 0.5, 0.0, 0.0),
    ("orpo", "orpo", 0.1, 0.0, 0.0, 0.25, 0.0), ("rpo", "sigmoid", 0.1, 0.0, 0.0, 0.0, 0.7)]


def dpo_fixture(out):
    """DPO family: a right-padded batch of 2 pairs (chosen, rejected interleaved), prompt targets
    masked, fixed reference log-probabilities; per loss its value (mean over pairs) and every gradient."""
    torch.manual_seed(777)
    os.makedirs(os.path.join(out, "model"), exist_ok=True)
    p = init_params()
    write_config(os.path.join(out, "model"))
    write_safetensors(os.path.join(out, "model", "model.safetensors"), p)
    p = {k: v.to(torch.float32).to(DT) for k, v in p.items()}
    prompt_lens, resp_lens = [3, 3, 4, 4], [4, 2, 3, 5]  # c0 r0 c1 r1 (prompts shared within a pair)
    seqs = []
    for i in range(2):
        prompt = torch.randint(0, V - 1, (prompt_lens[2 * i],))
        for j in range(2):
            seqs.append(torch.cat([prompt, torch.randint(0, V - 1, (resp_lens[2 * i + j],))]))
    B, T = 4, max(len(s) for s in seqs) - 1
    tokens = torch.full((B, T), V - 1, dtype=torch.long)
    targets = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=DT)
    keys = torch.zeros(B, T, dtype=torch.long)
    for b, s in enumerate(seqs):
        n = len(s) - 1
        tokens[b, :n] = s[:-1]
        targets[b, :n] = s[1:]
        keys[b, :n] = 1
        mask[b, prompt_lens[b] - 1:n] = 1  # targets that are response tokens
    positions = torch.arange(T).repeat(B, 1)
    ref = torch.tensor([-20.5, -9.25, -14.0, -21.75], dtype=DT)
    cases = {}
    grads = {}
    for name, kind, beta, eps, gamma, lam, alpha in DPO_CASES:
        q = {k: v.clone().requires_grad_(True) for k, v in p.items()}
        logits = forward(q, tokens, positions, keys)
        logp = torch.log_softmax(logits, -1).gather(2, targets.unsqueeze(2)).squeeze(2)
        seq = (logp * mask).sum(1)
        n = mask.sum(1)
        loss = dpo_losses(seq[0::2], seq[1::2], ref[0::2], ref[1::2], n[0::2], n[1::2], kind, beta, eps, gamma, lam,
                          alpha).mean()
        loss.backward()
        cases[name] = {"kind": kind, "beta": beta, "label_smoothing": eps, "simpo_gamma": gamma, "orpo_lambda": lam,
                       "rpo_alpha": alpha, "loss": float(loss), "logps": seq.tolist()}
        for k, v in q.items():
            grads[name + "." + k] = v.grad
    write_safetensors(os.path.join(out, "expected.safetensors"), grads)
    meta = {"batch": B, "time": T, "tokens": tokens.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
            "loss_mask": mask.reshape(-1).tolist(), "key_mask": keys.reshape(-1).tolist(),
            "reference_logps": ref.tolist(), "cases": cases, "torch_version": torch.__version__}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote DPO fixtures to {out}: " + ", ".join(f"{k} {v['loss']:.5f}" for k, v in cases.items()))



def kto_losses(logps, ref, kl_logps, ref_kl, labels, loss_type, beta, dw, uw):
    """KTO (Ethayarajh et al. 2024, eq. 7) and APO-zero unpaired, written from the papers with TRL's
    conventions: the KL estimate is the mean log-ratio of the mismatched (prompt, completion) pairs,
    detached and clamped at 0; losses of desirable then undesirable examples, weighted, averaged."""
    if loss_type == "kto":
        kl = (kl_logps - ref_kl).mean().detach().clamp(min=0)
    else:
        kl = torch.zeros((), dtype=DT)
    ratio = logps - ref
    des, und = ratio[labels], ratio[~labels]
    if loss_type == "kto":
        l_des = 1 - torch.sigmoid(beta * (des - kl))
        l_und = 1 - torch.sigmoid(beta * (kl - und))
    else:
        l_des = 1 - torch.sigmoid(beta * des)
        l_und = torch.sigmoid(beta * und)
    return torch.cat((dw * l_des, uw * l_und)).mean(), kl


KTO_CASES = [  # name, loss type, beta, desirable weight, undesirable weight, shift of the reference's KL log-probs
    ("kto", "kto", 0.1, 1.0, 1.0, [0.3, -0.1, 0.5, 0.2]),
    ("kto_weighted", "kto", 0.5, 1.0, 1.33, [0.3, -0.1, 0.5, 0.2]),
    ("kto_kl_clamped", "kto", 0.5, 2.0, 1.0, [-0.3, -0.1, 0.2, -0.4]),
    ("apo_zero_unpaired", "apo_zero_unpaired", 0.2, 1.0, 1.0, [0.0, 0.0, 0.0, 0.0])]


def kto_fixture(out):
    """KTO: a right-padded batch of 4 unpaired examples (3 desirable, 1 undesirable), prompt targets
    masked, and their 4 KL sequences (each prompt with the previous example's completion, cycled within
    the batch as TRL does); fixed reference log-probabilities; per case the loss, the KL estimate and
    every parameter gradient (none flows through the KL estimate)."""
    torch.manual_seed(4242)
    os.makedirs(os.path.join(out, "model"), exist_ok=True)
    p = init_params()
    write_config(os.path.join(out, "model"))
    write_safetensors(os.path.join(out, "model", "model.safetensors"), p)
    p = {k: v.to(torch.float32).to(DT) for k, v in p.items()}
    prompt_lens, resp_lens = [3, 2, 4, 3], [4, 2, 3, 5]
    prompts = [torch.randint(0, V - 1, (n,)) for n in prompt_lens]
    completions = [torch.randint(0, V - 1, (n,)) for n in resp_lens]
    labels = torch.tensor([True, False, True, True])
    kl_completions = completions[-1:] + completions[:-1]

    def batch(comps):
        seqs = [torch.cat([pr, c]) for pr, c in zip(prompts, comps)]
        B, T = len(seqs), max(len(s) for s in seqs) - 1
        tokens = torch.full((B, T), V - 1, dtype=torch.long)
        targets = torch.zeros(B, T, dtype=torch.long)
        mask = torch.zeros(B, T, dtype=DT)
        keys = torch.zeros(B, T, dtype=torch.long)
        for b, s in enumerate(seqs):
            n = len(s) - 1
            tokens[b, :n] = s[:-1]
            targets[b, :n] = s[1:]
            keys[b, :n] = 1
            mask[b, prompt_lens[b] - 1:n] = 1
        return dict(batch=B, time=T, tokens=tokens, targets=targets, loss_mask=mask, key_mask=keys)

    def seq_logps(q, bt):
        positions = torch.arange(bt["time"]).repeat(bt["batch"], 1)
        logits = forward(q, bt["tokens"], positions, bt["key_mask"])
        logp = torch.log_softmax(logits, -1).gather(2, bt["targets"].unsqueeze(2)).squeeze(2)
        return (logp * bt["loss_mask"]).sum(1)

    main, klb = batch(completions), batch(kl_completions)
    ref = torch.tensor([-20.5, -9.25, -14.0, -21.75], dtype=DT)
    with torch.no_grad():
        kl_policy = seq_logps(p, klb)
    cases, grads = {}, {}
    for name, loss_type, beta, dw, uw, shift in KTO_CASES:
        ref_kl = (kl_policy - torch.tensor(shift, dtype=DT)).to(torch.float32).to(DT)
        q = {k: v.clone().requires_grad_(True) for k, v in p.items()}
        with torch.no_grad():
            kl_logps = seq_logps(q, klb)
        seq = seq_logps(q, main)
        loss, kl = kto_losses(seq, ref, kl_logps, ref_kl, labels, loss_type, beta, dw, uw)
        loss.backward()
        cases[name] = {"loss_type": loss_type, "beta": beta, "desirable_weight": dw, "undesirable_weight": uw,
                       "loss": float(loss), "kl": float(kl), "logps": seq.tolist(), "kl_logps": kl_logps.tolist(),
                       "reference_kl_logps": ref_kl.tolist()}
        for k, v in q.items():
            grads[name + "." + k] = v.grad
    write_safetensors(os.path.join(out, "expected.safetensors"), grads)

    def flat(bt):
        return {"batch": bt["batch"], "time": bt["time"], "tokens": bt["tokens"].reshape(-1).tolist(),
                "targets": bt["targets"].reshape(-1).tolist(), "loss_mask": bt["loss_mask"].reshape(-1).tolist(),
                "key_mask": bt["key_mask"].reshape(-1).tolist()}

    meta = dict(flat(main), kl=flat(klb), labels=labels.tolist(), reference_logps=ref.tolist(), cases=cases,
                torch_version=torch.__version__)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote KTO fixtures to {out}: " + ", ".join(f"{k} {v['loss']:.5f} (kl {v['kl']:.4f})"
                                                       for k, v in cases.items()))


def ppo_fixture(out):
    """PPO: a fixed rollout batch (prompt + response tokens, right-padded) through a tiny policy and a
    value model (GPT-2 + score head at every position); the token-mean clipped surrogate, the
    token-mean clipped value loss, and every gradient of both models."""
    torch.manual_seed(999)
    os.makedirs(os.path.join(out, "policy"), exist_ok=True)
    os.makedirs(os.path.join(out, "value"), exist_ok=True)
    pol = init_params()
    write_config(os.path.join(out, "policy"))
    write_safetensors(os.path.join(out, "policy", "model.safetensors"), pol)
    val = init_params()
    val["score.weight"] = torch.randn(1, C, dtype=DT) * 0.3
    write_config(os.path.join(out, "value"))
    write_safetensors(os.path.join(out, "value", "model.safetensors"),
                      {("score.weight" if k == "score.weight" else "transformer." + k): v for k, v in val.items()})
    pol = {k: v.to(torch.float32).to(DT).requires_grad_(True) for k, v in pol.items()}
    val = {k: v.to(torch.float32).to(DT).requires_grad_(True) for k, v in val.items()}
    prompt_lens, resp_lens = [3, 5, 2], [4, 3, 6]
    B = 3
    T = max(p + r for p, r in zip(prompt_lens, resp_lens)) - 1
    tokens = torch.full((B, T), V - 1, dtype=torch.long)
    targets = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=DT)
    keys = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        seq = torch.randint(0, V - 1, (prompt_lens[b] + resp_lens[b],))
        n = len(seq) - 1
        tokens[b, :n] = seq[:-1]
        targets[b, :n] = seq[1:]
        keys[b, :n] = 1
        mask[b, prompt_lens[b] - 1:n] = 1
    positions = torch.arange(T).repeat(B, 1)
    with torch.no_grad():
        logits = forward(pol, tokens, positions, keys)
        logp0 = torch.log_softmax(logits, -1).gather(2, targets.unsqueeze(2)).squeeze(2)
        v0 = (forward_hidden(val, tokens, positions, keys) @ val["score.weight"].T).squeeze(2)
    old = logp0 + 0.3 * torch.randn(B, T, dtype=DT)        # some ratios land outside 1 +- eps
    adv = torch.randn(B, T, dtype=DT)
    ret = v0 + torch.randn(B, T, dtype=DT)
    old_v = v0 + 0.3 * torch.randn(B, T, dtype=DT)
    eps, eps_v, vf_coef = 0.2, 0.2, 0.1
    logits = forward(pol, tokens, positions, keys)
    logp = torch.log_softmax(logits, -1).gather(2, targets.unsqueeze(2)).squeeze(2)
    ratio = torch.exp(logp - old)
    pg = torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - eps, 1 + eps))
    pg_loss = (pg * mask).sum() / mask.sum()
    v = (forward_hidden(val, tokens, positions, keys) @ val["score.weight"].T).squeeze(2)
    vc = old_v + torch.clamp(v - old_v, -eps_v, eps_v)
    vf = 0.5 * torch.max((v - ret) ** 2, (vc - ret) ** 2)
    vf_loss = (vf * mask).sum() / mask.sum()
    total = pg_loss + vf_coef * vf_loss
    total.backward()
    grads = {"policy." + k: t.grad for k, t in pol.items()}
    grads.update({"value." + k: t.grad for k, t in val.items()})
    write_safetensors(os.path.join(out, "expected.safetensors"), grads)
    flat = lambda t: t.reshape(-1).tolist()
    meta = {"batch": B, "time": T, "tokens": flat(tokens), "targets": flat(targets), "loss_mask": flat(mask),
            "key_mask": flat(keys), "old_logprobs": flat(old), "advantages": flat(adv), "returns": flat(ret),
            "old_values": flat(old_v), "cliprange": eps, "cliprange_value": eps_v, "vf_coef": vf_coef,
            "policy_loss": float(pg_loss), "value_loss": float(vf_loss),
            "clipfrac": float(((ratio - 1).abs() > eps).to(DT).mul(mask).sum() / mask.sum()),
            "torch_version": torch.__version__}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote PPO fixtures to {out}: policy loss {float(pg_loss):.6f}, value loss {float(vf_loss):.6f},"
          f" clipfrac {meta['clipfrac']:.3f}")


def lora_fixture(out):
    """One LoRA training step in PEFT's convention: a base GPT-2, an adapter on c_attn, c_proj (both)
    and c_fc with r=4, alpha=8 stored as PEFT saves it, the loss of a padded batch, the gradients of
    every lora_A and lora_B, and the loss after one AdamW step of the adapter alone."""
    torch.manual_seed(2468)
    p = init_params()
    write_config(os.path.join(out, "model"))
    write_safetensors(os.path.join(out, "model", "model.safetensors"), {"transformer." + k: v for k, v in p.items()})
    r, alpha = 4, 8.0
    widths = {"attn.c_attn": (C, 3 * C), "attn.c_proj": (C, C), "mlp.c_fc": (C, 4 * C), "mlp.c_proj": (4 * C, C)}
    w = {}
    for i in range(L):
        for mod, (fan_in, fan_out) in widths.items():
            name = f"h.{i}.{mod}"
            w[name + ".lora_A.weight"] = (torch.rand(r, fan_in, dtype=DT) * 2 - 1) / math.sqrt(fan_in)
            w[name + ".lora_B.weight"] = torch.randn(fan_out, r, dtype=DT) * 0.2  # as after some training
    adapter = os.path.join(out, "adapter")
    os.makedirs(adapter, exist_ok=True)
    write_safetensors(os.path.join(adapter, "adapter_model.safetensors"),
                      {"base_model.model.transformer." + k: v for k, v in w.items()})
    with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "model", "r": r,
                   "lora_alpha": alpha, "lora_dropout": 0.0, "target_modules": ["c_attn", "c_proj", "c_fc"],
                   "fan_in_fan_out": True, "bias": "none", "inference_mode": True}, f, indent=2)
    p = {k: v.to(torch.float32).to(DT) for k, v in p.items()}
    w = {k: v.to(torch.float32).to(DT).requires_grad_(True) for k, v in w.items()}
    lora = {"w": w, "scale": alpha / r}
    B, T, tokens, mask, positions, targets, lw = lm_batch(V, 5)
    loss = loss_fn(forward(p, tokens, positions, mask, lora), targets, lw)
    loss.backward()
    write_safetensors(os.path.join(out, "expected.safetensors"), {"grad." + k: v.grad for k, v in w.items()})
    opt = torch.optim.AdamW(list(w.values()), lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    opt.step()
    with torch.no_grad():
        after = float(loss_fn(forward(p, tokens, positions, mask, lora), targets, lw))
    meta = {"config": CFG, "batch": B, "time": T, "r": r, "alpha": alpha,
            "tokens": tokens.reshape(-1).tolist(), "positions": positions.reshape(-1).tolist(),
            "key_mask": mask.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
            "loss_weights": lw.reshape(-1).tolist(), "loss": float(loss), "loss_after_step": after,
            "adamw": {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0},
            "torch_version": torch.__version__}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote LoRA fixtures to {out}: loss {float(loss):.6f}, after one step {after:.6f}")


def lora_dora_fixture(out):
    """DoRA with rsLoRA in PEFT's convention on GPT-2's Conv1D (fan_in_fan_out): r=4, alpha=8, scale
    alpha/sqrt(r), magnitudes as after some training, stored as PEFT saves them
    (...lora_magnitude_vector [out]); the loss of a padded batch, the gradients of every lora_A, lora_B
    and magnitude, the loss after one AdamW step, and the logits of the merged model (PEFT's merge)."""
    torch.manual_seed(1357)
    p = init_params()
    write_config(os.path.join(out, "model"))
    write_safetensors(os.path.join(out, "model", "model.safetensors"), {"transformer." + k: v for k, v in p.items()})
    r, alpha = 4, 8.0
    scale = alpha / math.sqrt(r)
    p = {k: v.to(torch.float32).to(DT) for k, v in p.items()}
    widths = {"attn.c_attn": (C, 3 * C), "attn.c_proj": (C, C), "mlp.c_fc": (C, 4 * C), "mlp.c_proj": (4 * C, C)}
    w = {}
    for i in range(L):
        for mod, (fan_in, fan_out) in widths.items():
            name = f"h.{i}.{mod}"
            A = (torch.rand(r, fan_in, dtype=DT) * 2 - 1) / math.sqrt(fan_in)
            B = torch.randn(fan_out, r, dtype=DT) * 0.2
            w[name + ".lora_A.weight"], w[name + ".lora_B.weight"] = A, B
            # PEFT's init (the norm of W + s B A per output feature), then moved as by training
            init = torch.linalg.norm(p[name + ".weight"].T + scale * B @ A, dim=1)
            w[name + ".lora_magnitude_vector"] = init * (1 + 0.2 * torch.randn(fan_out, dtype=DT))
    adapter = os.path.join(out, "adapter")
    os.makedirs(adapter, exist_ok=True)
    write_safetensors(os.path.join(adapter, "adapter_model.safetensors"),
                      {"base_model.model.transformer." + k: v for k, v in w.items()})
    with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "model", "r": r,
                   "lora_alpha": alpha, "lora_dropout": 0.05, "target_modules": ["c_attn", "c_proj", "c_fc"],
                   "fan_in_fan_out": True, "bias": "none", "inference_mode": True, "use_rslora": True,
                   "use_dora": True, "rank_pattern": {}, "alpha_pattern": {}, "layers_to_transform": None}, f,
                  indent=2)
    w = {k: v.to(torch.float32).to(DT).requires_grad_(True) for k, v in w.items()}
    lora = {"w": w, "scale": scale, "base": p}
    B, T, tokens, mask, positions, targets, lw = lm_batch(V, 5)
    logits = forward(p, tokens, positions, mask, lora)
    loss = loss_fn(logits, targets, lw)
    loss.backward()
    with torch.no_grad():
        merged_logits = forward(dora_merged(p, lora), tokens, positions, mask)
    write_safetensors(os.path.join(out, "expected.safetensors"),
                      dict({"grad." + k: v.grad for k, v in w.items()},
                           logits=logits.reshape(B * T, V), merged_logits=merged_logits.reshape(B * T, V)))
    opt = torch.optim.AdamW(list(w.values()), lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    opt.step()
    with torch.no_grad():
        after = float(loss_fn(forward(p, tokens, positions, mask, lora), targets, lw))
    meta = {"config": CFG, "batch": B, "time": T, "r": r, "alpha": alpha, "scale": scale,
            "tokens": tokens.reshape(-1).tolist(), "positions": positions.reshape(-1).tolist(),
            "key_mask": mask.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
            "loss_weights": lw.reshape(-1).tolist(), "loss": float(loss), "loss_after_step": after,
            "adamw": {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0},
            "torch_version": torch.__version__}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote DoRA fixtures to {out}: loss {float(loss):.6f}, after one step {after:.6f}")


def llama_fixture(out):
    """A Llama-family decoder written from the published architecture (RMSNorm, rotary embeddings
    in HF's rotate-half convention, grouped-query attention with key/value heads repeated as HF's
    repeat_kv, SwiGLU, untied head, Qwen2's q/k/v biases): logits, loss and every gradient of a
    right-padded batch, and the losses of 3 AdamW steps; weights in HF's layout and names."""
    torch.manual_seed(1357)
    Vl, Cl, Fl, Ll, Hl, KVl, theta, eps = 64, 32, 48, 2, 4, 2, 10000.0, 1e-6
    hs = Cl // Hl
    p = {"model.embed_tokens.weight": torch.randn(Vl, Cl, dtype=DT) * 0.3}
    for i in range(Ll):
        q = f"model.layers.{i}."
        p[q + "input_layernorm.weight"] = 1 + 0.2 * torch.randn(Cl, dtype=DT)
        p[q + "self_attn.q_proj.weight"] = torch.randn(Cl, Cl, dtype=DT) * 0.2
        p[q + "self_attn.q_proj.bias"] = torch.randn(Cl, dtype=DT) * 0.1
        p[q + "self_attn.k_proj.weight"] = torch.randn(KVl * hs, Cl, dtype=DT) * 0.2
        p[q + "self_attn.k_proj.bias"] = torch.randn(KVl * hs, dtype=DT) * 0.1
        p[q + "self_attn.v_proj.weight"] = torch.randn(KVl * hs, Cl, dtype=DT) * 0.2
        p[q + "self_attn.v_proj.bias"] = torch.randn(KVl * hs, dtype=DT) * 0.1
        p[q + "self_attn.o_proj.weight"] = torch.randn(Cl, Cl, dtype=DT) * 0.2
        p[q + "post_attention_layernorm.weight"] = 1 + 0.2 * torch.randn(Cl, dtype=DT)
        p[q + "mlp.gate_proj.weight"] = torch.randn(Fl, Cl, dtype=DT) * 0.2
        p[q + "mlp.up_proj.weight"] = torch.randn(Fl, Cl, dtype=DT) * 0.2
        p[q + "mlp.down_proj.weight"] = torch.randn(Cl, Fl, dtype=DT) * 0.2
    p["model.norm.weight"] = 1 + 0.2 * torch.randn(Cl, dtype=DT)
    p["lm_head.weight"] = torch.randn(Vl, Cl, dtype=DT) * 0.3
    d = os.path.join(out, "model")
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), p)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": Vl, "hidden_size": Cl,
                   "intermediate_size": Fl, "num_hidden_layers": Ll, "num_attention_heads": Hl,
                   "num_key_value_heads": KVl, "rms_norm_eps": eps, "rope_theta": theta,
                   "max_position_embeddings": 32, "tie_word_embeddings": False, "bos_token_id": Vl - 1,
                   "eos_token_id": Vl - 1}, f, indent=2)
    # the same weights as HF saves a larger model: BF16, two shards and an index
    sd = os.path.join(out, "model-bf16-sharded")
    os.makedirs(sd, exist_ok=True)
    names = list(p.keys())
    halves = [names[:len(names) // 2], names[len(names) // 2:]]
    weight_map = {}
    for i, part in enumerate(halves):
        fname = f"model-{i + 1:05d}-of-00002.safetensors"
        write_safetensors(os.path.join(sd, fname), {k: p[k] for k in part}, "BF16")
        weight_map.update({k: fname for k in part})
    with open(os.path.join(sd, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(p[k].numel() * 2 for k in names)}, "weight_map": weight_map}, f,
                  indent=2)
    with open(os.path.join(d, "config.json")) as f:
        cfg_text = f.read()
    with open(os.path.join(sd, "config.json"), "w") as f:
        f.write(cfg_text)
    p = {k: v.to(torch.float32).to(DT).requires_grad_(True) for k, v in p.items()}

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def rope(x, pos):  # x [B, heads, T, hs]
        inv = theta ** (-torch.arange(0, hs, 2, dtype=DT) / hs)
        ang = pos[:, None, :, None].to(DT) * inv
        emb = torch.cat([ang, ang], -1)
        rot = torch.cat([-x[..., hs // 2:], x[..., :hs // 2]], -1)
        return x * emb.cos() + rot * emb.sin()

    def forward_l(tokens, positions, mask):
        B, T = tokens.shape
        x = p["model.embed_tokens.weight"][tokens]
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
        visible = causal & (mask.bool()[:, None, None, :] | torch.eye(T, dtype=torch.bool))
        for i in range(Ll):
            q_ = f"model.layers.{i}."
            a = rms(x, p[q_ + "input_layernorm.weight"])
            q = (a @ p[q_ + "self_attn.q_proj.weight"].T + p[q_ + "self_attn.q_proj.bias"]).view(B, T, Hl, hs).transpose(1, 2)
            k = (a @ p[q_ + "self_attn.k_proj.weight"].T + p[q_ + "self_attn.k_proj.bias"]).view(B, T, KVl, hs).transpose(1, 2)
            v = (a @ p[q_ + "self_attn.v_proj.weight"].T + p[q_ + "self_attn.v_proj.bias"]).view(B, T, KVl, hs).transpose(1, 2)
            q, k = rope(q, positions), rope(k, positions)
            k = k.repeat_interleave(Hl // KVl, dim=1)
            v = v.repeat_interleave(Hl // KVl, dim=1)
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
            att = att.masked_fill(~visible, float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, Cl)
            x = x + y @ p[q_ + "self_attn.o_proj.weight"].T
            m = rms(x, p[q_ + "post_attention_layernorm.weight"])
            gate = m @ p[q_ + "mlp.gate_proj.weight"].T
            x = x + (torch.nn.functional.silu(gate) * (m @ p[q_ + "mlp.up_proj.weight"].T)) @ p[q_ + "mlp.down_proj.weight"].T
        return rms(x, p["model.norm.weight"]) @ p["lm_head.weight"].T

    B, T, tokens, mask, positions, targets, lw = lm_batch(Vl, 6)

    def loss_l(logits):
        logp = torch.log_softmax(logits.reshape(-1, Vl), dim=-1)
        return -(lw.reshape(-1) * logp.gather(1, targets.reshape(-1, 1)).squeeze(1)).sum()

    logits = forward_l(tokens, positions, mask)
    loss = loss_l(logits)
    loss.backward()
    expected = {"logits": logits.reshape(B * T, Vl)}
    for k, v in p.items():
        expected["grad." + k] = v.grad
    write_safetensors(os.path.join(out, "expected.safetensors"), expected)
    # greedy decoding by full recomputation, before the weights move
    greedy, seq = [], [3, 17, 42, 5]
    with torch.no_grad():
        for _ in range(6):
            t = torch.tensor([seq])
            nxt = int(forward_l(t, torch.arange(len(seq))[None, :], torch.ones_like(t))[0, -1].argmax())
            greedy.append(nxt)
            seq.append(nxt)
    opt = torch.optim.AdamW(list(p.values()), lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        l = loss_l(forward_l(tokens, positions, mask))
        l.backward()
        opt.step()
        losses.append(float(l))
    meta = {"batch": B, "time": T, "tokens": tokens.reshape(-1).tolist(), "key_mask": mask.reshape(-1).tolist(),
            "targets": targets.reshape(-1).tolist(), "loss_weights": lw.reshape(-1).tolist(), "loss": float(loss),
            "adamw": {"lr": 1e-2, "betas": [0.9, 0.95], "eps": 1e-8, "losses": losses},
            "greedy_prompt": [3, 17, 42, 5], "greedy": greedy, "torch_version": torch.__version__}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote Llama fixtures to {out}: loss {float(loss):.6f}, adamw losses {losses}")


def gkd_jsd(student_logits, teacher_logits, labels, beta, temperature):
    """GKD's generalized JSD (Agarwal et al. 2024, eq. 1) as TRL's GKDTrainer states it: F.kl_div with
    log targets, forward KL at beta 0, reverse KL at beta 1, the beta-mixture taken in log space in
    between; masked tokens (label -100) dropped; 'batchmean' = sum over kept tokens and vocabulary
    divided by the number of kept tokens."""
    F = torch.nn.functional
    s = F.log_softmax(student_logits / temperature, dim=-1)
    t = F.log_softmax(teacher_logits / temperature, dim=-1)
    if beta == 0:
        jsd = F.kl_div(s, t, reduction="none", log_target=True)
    elif beta == 1:
        jsd = F.kl_div(t, s, reduction="none", log_target=True)
    else:
        b = torch.tensor(beta, dtype=s.dtype)
        m = torch.logsumexp(torch.stack([s + torch.log1p(-b), t + torch.log(b)]), dim=0)
        jsd = b * F.kl_div(m, t, reduction="none", log_target=True) + (1 - b) * F.kl_div(m, s, reduction="none",
                                                                                       log_target=True)
    mask = labels != -100
    return jsd[mask].sum() / mask.sum().clamp_min(1)


def gkd_fixture(out):
    """Student and teacher logits [B, T, V] (float64), labels with masked prompt and padding positions."""
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(25)
    B, T, Vg = 2, 5, 11
    student = torch.randn(B, T, Vg, dtype=DT, generator=g) * 1.5
    teacher = torch.randn(B, T, Vg, dtype=DT, generator=g) * 2.0
    labels = torch.randint(0, Vg, (B, T), generator=g)
    labels[0, :2] = -100   # a prompt
    labels[1, :1] = -100   # a shorter prompt
    labels[1, 4] = -100    # padding
    cases = []
    for beta in (0.0, 0.5, 0.9, 1.0):
        for temperature in (1.0, 2.0):
            s = student.clone().requires_grad_(True)
            loss = gkd_jsd(s, teacher, labels, beta, temperature)
            loss.backward()
            cases.append(dict(beta=beta, temperature=temperature, loss=float(loss),
                              grad=s.grad.reshape(-1).tolist()))
    # the student equal to the teacher: 0 for every beta
    for beta in (0.0, 0.5, 1.0):
        assert abs(float(gkd_jsd(teacher, teacher, labels, beta, 1.0))) < 1e-12
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(dict(batch=B, time=T, vocab=Vg, student=student.reshape(-1).tolist(),
                       teacher=teacher.reshape(-1).tolist(), mask=[0 if l == -100 else 1 for l in labels.reshape(-1).tolist()],
                       cases=cases), f, indent=1)
    print(f"wrote GKD fixture to {out}: " + ", ".join(f"beta {c['beta']} T {c['temperature']}: {c['loss']:.6f}"
                                                        for c in cases))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--gkd-only":
        gkd_fixture(sys.argv[2] if len(sys.argv) > 2 else "distill/src/test/resources/fixtures/gkd")
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--kto-only":
        # the KTO fixture alone (the others stay byte for byte as they are)
        kto_fixture(sys.argv[2] if len(sys.argv) > 2 else "kto/src/test/resources/fixtures/kto-tiny")
        sys.exit(0)
    main(sys.argv[1] if len(sys.argv) > 1 else "core/src/test/resources/fixtures/gpt2-tiny")
    reward_fixture(sys.argv[2] if len(sys.argv) > 2 else "reward/src/test/resources/fixtures/reward-tiny")
    dpo_fixture(sys.argv[3] if len(sys.argv) > 3 else "dpo/src/test/resources/fixtures/dpo-tiny")
    ppo_fixture(sys.argv[4] if len(sys.argv) > 4 else "ppo/src/test/resources/fixtures/ppo-tiny")
    lora_fixture(sys.argv[5] if len(sys.argv) > 5 else "core/src/test/resources/fixtures/lora-tiny")
    llama_fixture(sys.argv[6] if len(sys.argv) > 6 else "core/src/test/resources/fixtures/llama-tiny")
    kto_fixture(sys.argv[7] if len(sys.argv) > 7 else "kto/src/test/resources/fixtures/kto-tiny")
    gkd_fixture(sys.argv[8] if len(sys.argv) > 8 else "distill/src/test/resources/fixtures/gkd")
    lora_dora_fixture(sys.argv[9] if len(sys.argv) > 9 else "core/src/test/resources/fixtures/lora-dora-tiny")
