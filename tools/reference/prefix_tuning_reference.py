#!/usr/bin/env python3
"""Golden fixtures for align4j's prefix tuning from the published formulas, in Hugging Face PEFT's format.

Run with Debian's PyTorch (never needed by the build or the tests):
    /usr/bin/python3 tools/reference/prefix_tuning_reference.py core/src/test/resources/fixtures/prefix-tuning-tiny \
        core/src/test/resources/fixtures/prefix-tuning-tiny/gpt2-projection

Prefix tuning (Li and Liang 2021) in P-Tuning v2's form, as PEFT's PeftModelForCausalLM computes it for
PREFIX_TUNING without projection, in float64: the table prompt_embeddings [n, L * 2 * d] (d the
key/value width: the key/value heads' for grouped-query attention, as PEFT adjusts token_dim) is
viewed as [n, 2L, heads, head_dim] and passed as past_key_values: layer l's keys are columns
2l d .. (2l+1) d, its values the next d, prepended to the layer's own keys and values as they are
(no rotary embedding: they are already in the cache). The attention mask gets n ones before the
sequence's, and the sequence's positions are offset by n (PEFT: position_ids + num_virtual_tokens;
with a cache of n the model numbers from n anyway).

Writes gpt2/ and llama/, each: model/ (the base), adapter/ (adapter_config.json and
adapter_model.safetensors with PEFT's single key prompt_embeddings), expected.safetensors (the
logits and grad.prompt_embeddings), expected.json (the batch, the loss, the loss after one AdamW step,
and greedy tokens decoded by full recomputation).
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_reference as g  # noqa: E402
import ia3_reference as ia  # noqa: E402

DT = torch.float64
N_VIRTUAL = 3
ADAMW = {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}


def visible_with_prefix(mask, n):
    """[B, 1, T, n+T]: every prefix slot visible; a token sees token j iff j <= i and (j real or j == i)."""
    B, T = mask.shape
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    own = causal & (mask.bool()[:, None, None, :] | torch.eye(T, dtype=torch.bool))
    return torch.cat((torch.ones(B, 1, T, n, dtype=torch.bool), own), dim=-1)


def prefix_kv(table, layer, d, heads, B):
    n = table.shape[0]
    hd = d // heads
    k = table[:, 2 * layer * d:(2 * layer + 1) * d].view(n, heads, hd).transpose(0, 1)
    v = table[:, (2 * layer + 1) * d:(2 * layer + 2) * d].view(n, heads, hd).transpose(0, 1)
    return k.unsqueeze(0).expand(B, -1, -1, -1), v.unsqueeze(0).expand(B, -1, -1, -1)


def gpt2_logits(p, table, tokens, mask):
    C, H, L = g.C, g.H, g.L
    n = table.shape[0]
    B, T = tokens.shape
    x = p["wte.weight"][tokens] + p["wpe.weight"][n + torch.arange(T)]
    visible = visible_with_prefix(mask, n)
    hs = C // H
    for i in range(L):
        h = f"h.{i}."
        a = g.layer_norm(x, p[h + "ln_1.weight"], p[h + "ln_1.bias"])
        q, k, v = (a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (t.view(B, T, H, hs).transpose(1, 2) for t in (q, k, v))
        pk, pv = prefix_kv(table, i, C, H, B)
        k, v = torch.cat((pk, k), dim=2), torch.cat((pv, v), dim=2)
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(hs)).masked_fill(~visible, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        mm = g.layer_norm(x, p[h + "ln_2.weight"], p[h + "ln_2.bias"])
        x = x + g.gelu_tanh(mm @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"]) @ p[h + "mlp.c_proj.weight"] \
            + p[h + "mlp.c_proj.bias"]
    return g.layer_norm(x, p["ln_f.weight"], p["ln_f.bias"]) @ p["wte.weight"].T


def llama_logits(p, table, tokens, mask):
    n = table.shape[0]
    B, T = tokens.shape
    x = p["model.embed_tokens.weight"][tokens]
    positions = (n + torch.arange(T)).repeat(B, 1)
    visible = visible_with_prefix(mask, n)
    LH, LKV, LHS, LC = ia.LH, ia.LKV, ia.LHS, ia.LC
    for i in range(ia.LL):
        q_ = f"model.layers.{i}."
        a = ia.rms(x, p[q_ + "input_layernorm.weight"])
        q = (a @ p[q_ + "self_attn.q_proj.weight"].T).view(B, T, LH, LHS).transpose(1, 2)
        k = (a @ p[q_ + "self_attn.k_proj.weight"].T).view(B, T, LKV, LHS).transpose(1, 2)
        v = (a @ p[q_ + "self_attn.v_proj.weight"].T).view(B, T, LKV, LHS).transpose(1, 2)
        q, k = ia.rope(q, positions), ia.rope(k, positions)
        pk, pv = prefix_kv(table, i, LKV * LHS, LKV, B)
        k, v = torch.cat((pk, k), dim=2), torch.cat((pv, v), dim=2)
        k = k.repeat_interleave(LH // LKV, dim=1)
        v = v.repeat_interleave(LH // LKV, dim=1)
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(LHS)).masked_fill(~visible, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, LC)
        x = x + y @ p[q_ + "self_attn.o_proj.weight"].T
        mm = ia.rms(x, p[q_ + "post_attention_layernorm.weight"])
        hdn = torch.nn.functional.silu(mm @ p[q_ + "mlp.gate_proj.weight"].T) * (mm @ p[q_ + "mlp.up_proj.weight"].T)
        x = x + hdn @ p[q_ + "mlp.down_proj.weight"].T
    return ia.rms(x, p["model.norm.weight"]) @ p["lm_head.weight"].T


def fixture(out, p, logits_of, vocab, d, layers, kv_heads):
    table = torch.randn(N_VIRTUAL, layers * 2 * d, dtype=DT) * 0.5
    adapter = os.path.join(out, "adapter")
    os.makedirs(adapter, exist_ok=True)
    g.write_safetensors(os.path.join(adapter, "adapter_model.safetensors"), {"prompt_embeddings": table})
    with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "PREFIX_TUNING", "task_type": "CAUSAL_LM", "base_model_name_or_path": "model",
                   "revision": None, "inference_mode": True, "auto_mapping": None, "num_virtual_tokens": N_VIRTUAL,
                   "token_dim": d, "num_transformer_submodules": 1, "num_attention_heads": kv_heads,
                   "num_layers": layers, "modules_to_save": None, "encoder_hidden_size": d,
                   "prefix_projection": False, "init_weights": None}, f, indent=2)
    p = {k: v.to(torch.float32).to(DT) for k, v in p.items()}
    table = table.to(torch.float32).to(DT).requires_grad_(True)
    B, T, tokens, mask, positions, targets, lw = g.lm_batch(vocab, 5)

    def loss_of(logits):
        logp = torch.log_softmax(logits.reshape(-1, vocab), dim=-1)
        return -(lw.reshape(-1) * logp.gather(1, targets.reshape(-1, 1)).squeeze(1)).sum()

    logits = logits_of(p, table, tokens, mask)
    loss = loss_of(logits)
    loss.backward()
    g.write_safetensors(os.path.join(out, "expected.safetensors"),
                        {"logits": logits.reshape(B * T, vocab), "grad.prompt_embeddings": table.grad})
    greedy, seq = [], [3, 17, 42, 5]
    with torch.no_grad():
        for _ in range(5):
            t = torch.tensor([seq])
            nxt = int(logits_of(p, table, t, torch.ones_like(t))[0, -1].argmax())
            greedy.append(nxt)
            seq.append(nxt)
    opt = torch.optim.AdamW([table], lr=ADAMW["lr"], betas=tuple(ADAMW["betas"]), eps=ADAMW["eps"],
                            weight_decay=ADAMW["weight_decay"])
    opt.step()
    with torch.no_grad():
        after = float(loss_of(logits_of(p, table, tokens, mask)))
    meta = {"batch": B, "time": T, "tokens": tokens.reshape(-1).tolist(), "positions": positions.reshape(-1).tolist(),
            "key_mask": mask.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
            "loss_weights": lw.reshape(-1).tolist(), "loss": float(loss), "loss_after_step": after,
            "adamw": ADAMW, "num_virtual_tokens": N_VIRTUAL, "greedy_prompt": [3, 17, 42, 5], "greedy": greedy,
            "torch_version": torch.__version__}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote prefix tuning fixtures to {out}: loss {float(loss):.6f}, after one step {after:.6f}, greedy {greedy}")


def gpt2_fixture(out):
    torch.manual_seed(11235)
    p = g.init_params()
    g.write_config(os.path.join(out, "model"))
    g.write_safetensors(os.path.join(out, "model", "model.safetensors"), {"transformer." + k: v for k, v in p.items()})
    fixture(out, p, gpt2_logits, g.V, g.C, g.L, g.H)


def llama_fixture(out):
    torch.manual_seed(81321)
    p = ia.llama_params()
    d = os.path.join(out, "model")
    os.makedirs(d, exist_ok=True)
    g.write_safetensors(os.path.join(d, "model.safetensors"), p)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": ia.LV,
                   "hidden_size": ia.LC, "intermediate_size": ia.LF, "num_hidden_layers": ia.LL,
                   "num_attention_heads": ia.LH, "num_key_value_heads": ia.LKV, "rms_norm_eps": ia.LEPS,
                   "rope_theta": ia.THETA, "max_position_embeddings": 32, "tie_word_embeddings": False,
                   "bos_token_id": ia.LV - 1, "eos_token_id": ia.LV - 1, "hidden_act": "silu"}, f, indent=2)
    fixture(out, p, llama_logits, ia.LV, ia.LKV * ia.LHS, ia.LL, ia.LKV)


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "core/src/test/resources/fixtures/prefix-tuning-tiny"
    gpt2_fixture(os.path.join(root, "gpt2"))
    llama_fixture(os.path.join(root, "llama"))


def projection_fixture(out):
    """prefix_projection with encoder_hidden_size H on GPT-2: the table is tanh(E W0^T + b0) W2^T + b2 (PEFT's
    PrefixEncoder transform); the gradients of E, W0, b0, W2, b2 (align4j's names, kept in
    align4j_prefix_encoder.safetensors beside PEFT's files, which hold the projected table as PEFT saves it)."""
    torch.manual_seed(31415)
    p = g.init_params()
    g.write_config(os.path.join(out, "model"))
    g.write_safetensors(os.path.join(out, "model", "model.safetensors"), {"transformer." + k: v for k, v in p.items()})
    d, L, Hh = g.C, g.L, 16
    enc = {"prefix_encoder.embedding.weight": torch.randn(N_VIRTUAL, d, dtype=DT),
           "prefix_encoder.transform.0.weight": (torch.rand(Hh, d, dtype=DT) * 2 - 1) / math.sqrt(d),
           "prefix_encoder.transform.0.bias": (torch.rand(Hh, dtype=DT) * 2 - 1) / math.sqrt(d),
           "prefix_encoder.transform.2.weight": (torch.rand(L * 2 * d, Hh, dtype=DT) * 2 - 1) / math.sqrt(Hh),
           "prefix_encoder.transform.2.bias": (torch.rand(L * 2 * d, dtype=DT) * 2 - 1) / math.sqrt(Hh)}
    enc = {k: v.to(torch.float32).to(DT).requires_grad_(True) for k, v in enc.items()}

    def table_of(e):
        h = torch.tanh(e["prefix_encoder.embedding.weight"] @ e["prefix_encoder.transform.0.weight"].T
                       + e["prefix_encoder.transform.0.bias"])
        return h @ e["prefix_encoder.transform.2.weight"].T + e["prefix_encoder.transform.2.bias"]

    adapter = os.path.join(out, "adapter")
    os.makedirs(adapter, exist_ok=True)
    with torch.no_grad():
        g.write_safetensors(os.path.join(adapter, "adapter_model.safetensors"), {"prompt_embeddings": table_of(enc)})
    g.write_safetensors(os.path.join(adapter, "align4j_prefix_encoder.safetensors"), enc)
    with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "PREFIX_TUNING", "task_type": "CAUSAL_LM", "base_model_name_or_path": "model",
                   "revision": None, "inference_mode": True, "auto_mapping": None, "num_virtual_tokens": N_VIRTUAL,
                   "token_dim": d, "num_transformer_submodules": 1, "num_attention_heads": g.H, "num_layers": L,
                   "modules_to_save": None, "encoder_hidden_size": Hh, "prefix_projection": True,
                   "init_weights": None}, f, indent=2)
    p = {k: v.to(torch.float32).to(DT) for k, v in p.items()}
    B, T, tokens, mask, positions, targets, lw = g.lm_batch(g.V, 5)
    logits = gpt2_logits(p, table_of(enc), tokens, mask)
    logp = torch.log_softmax(logits.reshape(-1, g.V), dim=-1)
    loss = -(lw.reshape(-1) * logp.gather(1, targets.reshape(-1, 1)).squeeze(1)).sum()
    loss.backward()
    g.write_safetensors(os.path.join(out, "expected.safetensors"),
                        dict({"grad." + k: v.grad for k, v in enc.items()}, logits=logits.reshape(B * T, g.V)))
    meta = {"batch": B, "time": T, "tokens": tokens.reshape(-1).tolist(), "positions": positions.reshape(-1).tolist(),
            "key_mask": mask.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
            "loss_weights": lw.reshape(-1).tolist(), "loss": float(loss), "encoder_hidden_size": Hh,
            "torch_version": torch.__version__}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote prefix projection fixtures to {out}: loss {float(loss):.6f}")


if __name__ == "__main__" and len(sys.argv) > 2:
    projection_fixture(sys.argv[2])
