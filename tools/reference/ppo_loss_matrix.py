"""PyTorch reference for PPO's loss matrix (issue 22): every policy loss under every aggregation
mode, written from the published formulas (not from align4j's code), in float64 with autograd.

A small random batch of responses of varied lengths, right-padded, one of them fully masked (a
truncated response under --mask-truncated); new and old per-token log-probabilities, per-token
advantages (per-response ones for GSPO, whose ratio is per response). For each case: the
aggregated loss and its gradient with respect to every new log-probability.

  vanilla  PPO (Schulman et al. 2017) with DAPO's clip-higher: max(-A r, -A clip(r, 1-lo, 1+hi));
           dual clip (Ye et al. 2019; verl's clip_ratio_c): for A < 0, min(that, -A c)
  gspo     GSPO (Zheng et al. 2025): s_i = (pi(y|x) / pi_old(y|x))^(1/|y|), the sequence-level
           loss max(-A s, -A clip(s, 1-lo, 1+hi)) at each of its tokens (autograd through s)
  cispo    CISPO (MiniMax-M1): -sg(clip(r, 1-lo, 1+hi)) A logp
  sapo     SAPO (TRL's sapo): -A 4 sigmoid(tau (r - 1)) / tau, tau by the sign of A
Aggregations (verl's loss_agg_mode; a fully masked response counts in no seq-mean):
  token-mean               sum(l m) / sum(m)
  seq-mean-token-mean      mean over responses with tokens of sum_t(l m) / sum_t(m)
  seq-mean-token-sum       mean over responses with tokens of sum_t(l m)
  seq-mean-token-sum-norm  sum(l m) / (responses x max_new_tokens)   (Dr. GRPO; TRL's dr_grpo)

Through a model (model.json, expected-model.safetensors): the tiny policy and rollout batch of
ppo-tiny (gpt2_reference.py) at temperature 0.7, the whole objective of one update as PpoTrainer
assembles it, and every parameter gradient: (A) vanilla with clip-higher and a dual clip under
seq-mean-token-sum-norm, plus beta x k3 KL to a reference (GRPO), minus an entropy bonus (TRL's:
coefficient x the mean entropy per trained token), one response masked; (B) GSPO under
seq-mean-token-mean with one advantage per response.

Run: /usr/bin/python3 tools/reference/ppo_loss_matrix.py [OUT_DIR [PPO_TINY_DIR]]
(default ppo/src/test/resources/fixtures/ppo-losses, ppo/src/test/resources/fixtures/ppo-tiny).
"""
import json
import os
import sys

import struct

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_reference import forward, write_safetensors  # noqa: E402  (the independent GPT-2)

DT = torch.float64


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", name
        a, b = h["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(h["shape"])
        out[name] = t.to(DT)
    return out


def model_fixture(out, tiny):
    """The whole update objective through the ppo-tiny policy (see the module's docstring)."""
    torch.manual_seed(23)
    with open(os.path.join(tiny, "expected.json")) as f:
        meta = json.load(f)
    B, T = meta["batch"], meta["time"]
    tokens = torch.tensor(meta["tokens"]).reshape(B, T)
    targets = torch.tensor(meta["targets"]).reshape(B, T)
    keys = torch.tensor(meta["key_mask"]).reshape(B, T)
    mask = torch.tensor(meta["loss_mask"], dtype=DT).reshape(B, T)
    old = torch.tensor(meta["old_logprobs"], dtype=DT).reshape(B, T)
    adv = torch.tensor(meta["advantages"], dtype=DT).reshape(B, T)
    ref = (old + 0.2 * torch.randn(B, T, dtype=DT)) * mask
    adv_seq = torch.randn(B, dtype=DT)
    positions = torch.arange(T).repeat(B, 1)
    temperature, max_new_tokens, beta, entropy_coef = 0.7, 8, 0.05, 0.1
    lo, hi, c = 0.2, 0.28, 3.0
    trained = mask.clone()
    trained[2] = 0                      # case A: the third response is masked out (truncated)
    weights = read_safetensors(os.path.join(tiny, "policy", "model.safetensors"))
    cases = {}
    grads = {}
    for case in ("A", "B"):
        pol = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
        logits = forward(pol, tokens, positions, keys) / temperature
        logsm = torch.log_softmax(logits, -1)
        logp = logsm.gather(2, targets.unsqueeze(2)).squeeze(2)
        if case == "A":
            m = trained
            r = torch.exp(logp - old)
            pg = torch.max(-adv * r, -adv * torch.clamp(r, 1 - lo, 1 + hi))
            pg = torch.where(adv < 0, torch.min(pg, -adv * c), pg)
            d = ref - logp
            k3 = torch.exp(d) - d - 1
            per_token = pg + beta * k3
            loss = (per_token * m).sum() / (B * max_new_tokens)        # seq-mean-token-sum-norm
            entropy = -(logsm.exp() * logsm).sum(-1)
            loss = loss - entropy_coef * (entropy * m).sum() / m.sum()
        else:
            m = mask
            s = torch.exp(((logp - old) * m).sum(-1) / m.sum(-1))
            seq = torch.max(-adv_seq * s, -adv_seq * torch.clamp(s, 1 - lo, 1 + hi))
            loss = seq.mean()                                           # seq-mean-token-mean of equal token losses
        loss.backward()
        cases[case] = float(loss)
        grads.update({case + "." + k: t.grad for k, t in pol.items()})
    write_safetensors(os.path.join(out, "expected-model.safetensors"), grads)
    flat = lambda t: t.reshape(-1).tolist()
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump({"temperature": temperature, "max_new_tokens": max_new_tokens, "beta": beta,
                   "entropy_coef": entropy_coef, "low": lo, "high": hi, "dual_clip": c, "masked_response": 2,
                   "reference": flat(ref), "sequence_advantages": flat(adv_seq), "loss": cases,
                   "torch_version": torch.__version__}, f, indent=1)
    print(f"wrote the model-level objective to {out}: " + ", ".join(f"{k} {v:.6f}" for k, v in cases.items()))


def aggregate(l, m, mode, max_new_tokens):
    per_seq_tokens = m.sum(-1)
    has = (per_seq_tokens > 0).to(DT)
    if mode == "token-mean":
        return (l * m).sum() / m.sum()
    if mode == "seq-mean-token-mean":
        seq = (l * m).sum(-1) / per_seq_tokens.clamp(min=1)
        return (seq * has).sum() / has.sum()
    if mode == "seq-mean-token-sum":
        return ((l * m).sum(-1) * has).sum() / has.sum()
    if mode == "seq-mean-token-sum-norm":
        return (l * m).sum() / (l.shape[0] * max_new_tokens)
    raise ValueError(mode)


def policy_loss(kind, logp, old, adv, adv_seq, m, lo, hi, c, tau_pos, tau_neg):
    r = torch.exp(logp - old)
    if kind == "vanilla":
        pg = torch.max(-adv * r, -adv * torch.clamp(r, 1 - lo, 1 + hi))
        if c is not None:
            pg = torch.where(adv < 0, torch.min(pg, -adv * c), pg)
        return pg
    if kind == "gspo":
        s = torch.exp(((logp - old) * m).sum(-1) / m.sum(-1).clamp(min=1))
        a = adv_seq
        seq = torch.max(-a * s, -a * torch.clamp(s, 1 - lo, 1 + hi))
        return seq.unsqueeze(-1).expand_as(logp)
    if kind == "cispo":
        return -torch.clamp(r, 1 - lo, 1 + hi).detach() * adv * logp
    if kind == "sapo":
        tau = torch.where(adv > 0, torch.full_like(adv, tau_pos), torch.full_like(adv, tau_neg))
        return -adv * torch.sigmoid(tau * (r - 1)) * 4 / tau
    raise ValueError(kind)


def main(out):
    torch.manual_seed(22)
    lengths = [3, 5, 1, 4, 2]
    trained = [3, 5, 1, 4, 0]       # the last response is masked out (truncated)
    B, T, max_new_tokens = len(lengths), max(lengths), 8
    m = torch.zeros(B, T, dtype=DT)
    for b in range(B):
        m[b, :trained[b]] = 1
    logp0 = -torch.rand(B, T, dtype=DT) * 3 - 0.05
    old = logp0 + 0.3 * torch.randn(B, T, dtype=DT)
    old[1] = logp0[1] + 0.02 * torch.randn(T, dtype=DT)   # a response whose sequence ratio stays inside GSPO's bounds
    adv = torch.randn(B, T, dtype=DT)
    adv_seq = torch.randn(B, dtype=DT)
    old[3, 2] = logp0[3, 2] - 1.5   # ratio e^1.5 = 4.48 on a token with a negative advantage: the dual clip binds
    adv[3, 2] = -0.9
    pad = torch.tensor([[t >= n for t in range(T)] for n in lengths])
    for x in (logp0, old, adv):
        x[pad] = 0
    settings = [("vanilla", 0.2, 0.2, None), ("vanilla", 0.2, 0.28, None), ("vanilla", 0.2, 0.28, 3.0),
                ("gspo", 0.2, 0.28, None), ("gspo", 0.003, 0.004, None), ("cispo", 0.2, 0.28, None),
                ("cispo", 1.0, 4.0, None), ("sapo", 0.2, 0.2, None)]
    modes = ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"]
    tau_pos, tau_neg = 1.0, 1.05
    cases = []
    for kind, lo, hi, c in settings:
        for mode in modes:
            logp = logp0.clone().requires_grad_(True)
            l = policy_loss(kind, logp, old, adv, adv_seq, m, lo, hi, c,
                            tau_pos, tau_neg)
            loss = aggregate(l, m, mode, max_new_tokens)
            loss.backward()
            cases.append({"policy_loss": kind, "loss_agg_mode": mode, "low": lo, "high": hi, "dual_clip": c,
                          "loss": float(loss), "grad": logp.grad.reshape(-1).tolist()})
    flat = lambda t: t.reshape(-1).tolist()
    meta = {"batch": B, "time": T, "lengths": lengths, "trained": trained, "max_new_tokens": max_new_tokens,
            "logp": flat(logp0), "old": flat(old), "advantages": flat(adv), "sequence_advantages": flat(adv_seq),
            "sapo_temperature_pos": tau_pos, "sapo_temperature_neg": tau_neg, "cases": cases,
            "torch_version": torch.__version__}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote {len(cases)} loss-matrix cases to {out}")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "ppo/src/test/resources/fixtures/ppo-losses"
    main(out)
    model_fixture(out, sys.argv[2] if len(sys.argv) > 2 else "ppo/src/test/resources/fixtures/ppo-tiny")
