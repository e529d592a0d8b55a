#!/usr/bin/env python3
"""Golden fixtures for align4j's IA3 from the published formulas, in Hugging Face PEFT's format.

Run with Debian's PyTorch (never needed by the build or the tests):
    /usr/bin/python3 tools/reference/ia3_reference.py core/src/test/resources/fixtures/ia3-tiny

IA3 as PEFT's IA3Layer (peft/tuners/ia3/layer.py) computes it, in float64: a targeted module's
output times its vector l (ia3_l of shape [out, 1]: y = (x W + b) * l, the bias scaled too), or for
a feedforward module its input times l (ia3_l [1, in]: y = (x * l) W + b). PEFT's defaults
(TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING / _FEEDFORWARD_MODULES_MAPPING): gpt2
target_modules [c_attn, mlp.c_proj] with feedforward [mlp.c_proj] (c_attn's whole fused q, k, v
output is scaled); llama [k_proj, v_proj, down_proj] with feedforward [down_proj] (k scaled before
the rotary embedding, as the module's output is). PEFT's merge: W times l over output features and
the bias times l, or W times l over input features for a feedforward module.

Writes gpt2/ and llama/, each: model/ (the base, HF layout), adapter/ (adapter_config.json and
adapter_model.safetensors as PEFT saves them: base_model.model.<module path>.ia3_l), expected.safetensors
(logits, every ia3_l's gradient as grad.<name>, the merged model's logits), expected.json (the batch,
the loss, the loss after one AdamW step of the vectors alone).
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_reference as g  # noqa: E402  (its helpers: GPT-2's weights, layer norm, GELU, batches, files)

DT = torch.float64
ADAMW = {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}


def vectors_after_training(shapes):
    """ia3_l tensors as after some training (PEFT initialises ones): 1 + 0.3 N(0, 1)."""
    return {k: (1 + 0.3 * torch.randn(*s, dtype=DT)) for k, s in shapes.items()}


def write_adapter(d, tensors, prefix, config):
    os.makedirs(d, exist_ok=True)
    g.write_safetensors(os.path.join(d, "adapter_model.safetensors"), {prefix + k: v for k, v in tensors.items()})
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)


def ia3_config(targets, feedforward, fan_in_fan_out):
    # the keys PEFT 0.13+ writes for an IA3Config
    return {"peft_type": "IA3", "task_type": "CAUSAL_LM", "base_model_name_or_path": "model", "revision": None,
            "inference_mode": True, "auto_mapping": None, "target_modules": targets, "exclude_modules": None,
            "feedforward_modules": feedforward, "fan_in_fan_out": fan_in_fan_out, "modules_to_save": None,
            "init_ia3_weights": True}


def step_and_dump(out, w, loss_of, logits_of, merged_logits, B, T, tokens, positions, mask, targets, lw, extra):
    logits = logits_of()
    loss = loss_of(logits)
    loss.backward()
    g.write_safetensors(os.path.join(out, "expected.safetensors"),
                        dict({"grad." + k: v.grad for k, v in w.items()}, logits=logits.reshape(B * T, -1),
                             merged_logits=merged_logits.reshape(B * T, -1)))
    opt = torch.optim.AdamW(list(w.values()), lr=ADAMW["lr"], betas=tuple(ADAMW["betas"]), eps=ADAMW["eps"],
                            weight_decay=ADAMW["weight_decay"])
    opt.step()
    with torch.no_grad():
        after = float(loss_of(logits_of()))
    meta = dict({"batch": B, "time": T, "tokens": tokens.reshape(-1).tolist(),
                 "positions": positions.reshape(-1).tolist(), "key_mask": mask.reshape(-1).tolist(),
                 "targets": targets.reshape(-1).tolist(), "loss_weights": lw.reshape(-1).tolist(),
                 "loss": float(loss), "loss_after_step": after, "adamw": ADAMW,
                 "torch_version": torch.__version__}, **extra)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote IA3 fixtures to {out}: loss {float(loss):.6f}, after one step {after:.6f}")


# ---------------------------------------------------------------- GPT-2 (Conv1D, fan_in_fan_out)

def gpt2_forward(p, tokens, positions, mask, ia3):
    """GPT-2 as gpt2_reference.forward_hidden, with IA3 on c_attn (output) and mlp.c_proj (input)."""
    C, H, L = g.C, g.H, g.L
    B, T = tokens.shape
    x = p["wte.weight"][tokens] + p["wpe.weight"][positions]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    visible = causal & (mask.bool()[:, None, None, :] | torch.eye(T, dtype=torch.bool))
    hs = C // H
    for i in range(L):
        h = f"h.{i}."
        a = g.layer_norm(x, p[h + "ln_1.weight"], p[h + "ln_1.bias"])
        qkv = (a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]) * ia3[h + "attn.c_attn.ia3_l"].flatten()
        q, k, v = qkv.split(C, dim=2)
        q = q.view(B, T, H, hs).transpose(1, 2)
        k = k.view(B, T, H, hs).transpose(1, 2)
        v = v.view(B, T, H, hs).transpose(1, 2)
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(hs)).masked_fill(~visible, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        m = g.layer_norm(x, p[h + "ln_2.weight"], p[h + "ln_2.bias"])
        m = g.gelu_tanh(m @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"])
        x = x + (m * ia3[h + "mlp.c_proj.ia3_l"].flatten()) @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
    return g.layer_norm(x, p["ln_f.weight"], p["ln_f.bias"]) @ p["wte.weight"].T


def gpt2_merged(p, ia3):
    """PEFT's merge with fan_in_fan_out: W [in, out] * transpose(ia3_l); a non-feedforward bias * ia3_l."""
    q = dict(p)
    for i in range(g.L):
        h = f"h.{i}."
        l_attn = ia3[h + "attn.c_attn.ia3_l"]                # [3C, 1]
        q[h + "attn.c_attn.weight"] = p[h + "attn.c_attn.weight"] * l_attn.T
        q[h + "attn.c_attn.bias"] = p[h + "attn.c_attn.bias"] * l_attn.reshape(-1)
        l_ff = ia3[h + "mlp.c_proj.ia3_l"]                   # [1, 4C]
        q[h + "mlp.c_proj.weight"] = p[h + "mlp.c_proj.weight"] * l_ff.T
    return q


def gpt2_fixture(out):
    torch.manual_seed(97531)
    p = g.init_params()
    g.write_config(os.path.join(out, "model"))
    g.write_safetensors(os.path.join(out, "model", "model.safetensors"), {"transformer." + k: v for k, v in p.items()})
    shapes = {}
    for i in range(g.L):
        shapes[f"h.{i}.attn.c_attn.ia3_l"] = (3 * g.C, 1)
        shapes[f"h.{i}.mlp.c_proj.ia3_l"] = (1, 4 * g.C)
    w = vectors_after_training(shapes)
    write_adapter(os.path.join(out, "adapter"), w, "base_model.model.transformer.",
                  ia3_config(["c_attn", "mlp.c_proj"], ["mlp.c_proj"], True))
    p = {k: v.to(torch.float32).to(DT) for k, v in p.items()}
    w = {k: v.to(torch.float32).to(DT).requires_grad_(True) for k, v in w.items()}
    B, T, tokens, mask, positions, targets, lw = g.lm_batch(g.V, 5)
    with torch.no_grad():
        merged = gpt2_forward(gpt2_merged(p, w), tokens, positions, mask,
                              {k: torch.ones_like(v) for k, v in w.items()})
    step_and_dump(out, w, lambda lg: g.loss_fn(lg, targets, lw), lambda: gpt2_forward(p, tokens, positions, mask, w),
                  merged, B, T, tokens, positions, mask, targets, lw, {})


# ---------------------------------------------------------------- Llama (Linear)

LV, LC, LF, LL, LH, LKV, THETA, LEPS = 64, 32, 48, 2, 4, 2, 10000.0, 1e-6
LHS = LC // LH


def llama_params():
    p = {"model.embed_tokens.weight": torch.randn(LV, LC, dtype=DT) * 0.3}
    for i in range(LL):
        q = f"model.layers.{i}."
        p[q + "input_layernorm.weight"] = 1 + 0.2 * torch.randn(LC, dtype=DT)
        p[q + "self_attn.q_proj.weight"] = torch.randn(LC, LC, dtype=DT) * 0.2
        p[q + "self_attn.k_proj.weight"] = torch.randn(LKV * LHS, LC, dtype=DT) * 0.2
        p[q + "self_attn.v_proj.weight"] = torch.randn(LKV * LHS, LC, dtype=DT) * 0.2
        p[q + "self_attn.o_proj.weight"] = torch.randn(LC, LC, dtype=DT) * 0.2
        p[q + "post_attention_layernorm.weight"] = 1 + 0.2 * torch.randn(LC, dtype=DT)
        p[q + "mlp.gate_proj.weight"] = torch.randn(LF, LC, dtype=DT) * 0.2
        p[q + "mlp.up_proj.weight"] = torch.randn(LF, LC, dtype=DT) * 0.2
        p[q + "mlp.down_proj.weight"] = torch.randn(LC, LF, dtype=DT) * 0.2
    p["model.norm.weight"] = 1 + 0.2 * torch.randn(LC, dtype=DT)
    p["lm_head.weight"] = torch.randn(LV, LC, dtype=DT) * 0.3
    return p


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + LEPS) * w


def rope(x, pos):  # x [B, heads, T, hs], HF's rotate-half convention
    inv = THETA ** (-torch.arange(0, LHS, 2, dtype=DT) / LHS)
    ang = pos[:, None, :, None].to(DT) * inv
    emb = torch.cat([ang, ang], -1)
    rot = torch.cat([-x[..., LHS // 2:], x[..., :LHS // 2]], -1)
    return x * emb.cos() + rot * emb.sin()


def llama_forward(p, tokens, positions, mask, ia3):
    """Llama with IA3 on k_proj, v_proj (outputs, k before the rotation) and down_proj (its input)."""
    B, T = tokens.shape
    x = p["model.embed_tokens.weight"][tokens]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    visible = causal & (mask.bool()[:, None, None, :] | torch.eye(T, dtype=torch.bool))
    for i in range(LL):
        q_ = f"model.layers.{i}."
        a = rms(x, p[q_ + "input_layernorm.weight"])
        q = (a @ p[q_ + "self_attn.q_proj.weight"].T).view(B, T, LH, LHS).transpose(1, 2)
        k = (a @ p[q_ + "self_attn.k_proj.weight"].T) * ia3[q_ + "self_attn.k_proj.ia3_l"].flatten()
        v = (a @ p[q_ + "self_attn.v_proj.weight"].T) * ia3[q_ + "self_attn.v_proj.ia3_l"].flatten()
        k = k.view(B, T, LKV, LHS).transpose(1, 2)
        v = v.view(B, T, LKV, LHS).transpose(1, 2)
        q, k = rope(q, positions), rope(k, positions)
        k = k.repeat_interleave(LH // LKV, dim=1)
        v = v.repeat_interleave(LH // LKV, dim=1)
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(LHS)).masked_fill(~visible, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, LC)
        x = x + y @ p[q_ + "self_attn.o_proj.weight"].T
        m = rms(x, p[q_ + "post_attention_layernorm.weight"])
        h = torch.nn.functional.silu(m @ p[q_ + "mlp.gate_proj.weight"].T) * (m @ p[q_ + "mlp.up_proj.weight"].T)
        x = x + (h * ia3[q_ + "mlp.down_proj.ia3_l"].flatten()) @ p[q_ + "mlp.down_proj.weight"].T
    return rms(x, p["model.norm.weight"]) @ p["lm_head.weight"].T


def llama_merged(p, ia3):
    """PEFT's merge without fan_in_fan_out: Linear W [out, in] * ia3_l ([out, 1] rows, [1, in] columns)."""
    q = dict(p)
    for k, v in ia3.items():
        name = k[:-len(".ia3_l")] + ".weight"
        q[name] = p[name] * v
    return q


def llama_fixture(out):
    torch.manual_seed(86420)
    p = llama_params()
    d = os.path.join(out, "model")
    os.makedirs(d, exist_ok=True)
    g.write_safetensors(os.path.join(d, "model.safetensors"), p)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": LV,
                   "hidden_size": LC, "intermediate_size": LF, "num_hidden_layers": LL, "num_attention_heads": LH,
                   "num_key_value_heads": LKV, "rms_norm_eps": LEPS, "rope_theta": THETA,
                   "max_position_embeddings": 32, "tie_word_embeddings": False, "bos_token_id": LV - 1,
                   "eos_token_id": LV - 1, "hidden_act": "silu"}, f, indent=2)
    shapes = {}
    for i in range(LL):
        q_ = f"model.layers.{i}."
        shapes[q_ + "self_attn.k_proj.ia3_l"] = (LKV * LHS, 1)
        shapes[q_ + "self_attn.v_proj.ia3_l"] = (LKV * LHS, 1)
        shapes[q_ + "mlp.down_proj.ia3_l"] = (1, LF)
    w = vectors_after_training(shapes)
    write_adapter(os.path.join(out, "adapter"), w, "base_model.model.",
                  ia3_config(["k_proj", "v_proj", "down_proj"], ["down_proj"], False))
    p = {k: v.to(torch.float32).to(DT) for k, v in p.items()}
    w = {k: v.to(torch.float32).to(DT).requires_grad_(True) for k, v in w.items()}
    B, T, tokens, mask, positions, targets, lw = g.lm_batch(LV, 6)

    def loss_of(logits):
        logp = torch.log_softmax(logits.reshape(-1, LV), dim=-1)
        return -(lw.reshape(-1) * logp.gather(1, targets.reshape(-1, 1)).squeeze(1)).sum()

    with torch.no_grad():
        merged = llama_forward(llama_merged(p, w), tokens, positions, mask,
                               {k: torch.ones_like(v) for k, v in w.items()})
    step_and_dump(out, w, loss_of, lambda: llama_forward(p, tokens, positions, mask, w), merged, B, T, tokens,
                  positions, mask, targets, lw, {})


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "core/src/test/resources/fixtures/ia3-tiny"
    gpt2_fixture(os.path.join(root, "gpt2"))
    llama_fixture(os.path.join(root, "llama"))
