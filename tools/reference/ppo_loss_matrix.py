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

Run: /usr/bin/python3 tools/reference/ppo_loss_matrix.py [OUT_DIR]
(default ppo/src/test/resources/fixtures/ppo-losses); the tests read OUT_DIR/expected.json.
"""
import json
import os
import sys

import torch

DT = torch.float64


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
    main(sys.argv[1] if len(sys.argv) > 1 else "ppo/src/test/resources/fixtures/ppo-losses")
