#!/usr/bin/env python3
"""Golden fixtures for align4j's prompt tuning from the published formulas, in Hugging Face PEFT's format.

Run with Debian's PyTorch (never needed by the build or the tests):
    /usr/bin/python3 tools/reference/prompt_tuning_reference.py core/src/test/resources/fixtures/prompt-tuning-tiny

Prompt tuning as PEFT's PeftModelForCausalLM.forward computes it for PROMPT_TUNING, in float64: the
n trained embeddings (prompt_embeddings [n, C]) are concatenated before the token embeddings
(inputs_embeds = cat(prompts, word_embeddings(input_ids))), the attention mask gets n ones before
the sequence's, position_ids are dropped so the model numbers the whole sequence from 0 (virtual
tokens 0..n-1, the sequence's tokens n..n+T-1: GPT-2 adds wpe at those positions to the virtual
embeddings too, Llama rotates at them), and the labels of the virtual positions are -100.

Writes gpt2/ and llama/, each: model/ (the base), adapter/ (adapter_config.json and
adapter_model.safetensors with PEFT's single key prompt_embeddings), expected.safetensors (the real
tokens' logits and grad.prompt_embeddings), expected.json (the batch, the loss, the loss after one
AdamW step of the embeddings alone, and greedy tokens decoded by full recomputation).
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_reference as g  # noqa: E402
import ia3_reference as ia  # noqa: E402  (the Llama base and its helpers)

DT = torch.float64
N_VIRTUAL = 3
ADAMW = {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}


def visible_mask(mask):
    T = mask.shape[1]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    return causal & (mask.bool()[:, None, None, :] | torch.eye(T, dtype=torch.bool))


def with_prompt(prompt, embeds, mask):
    B = embeds.shape[0]
    x = torch.cat((prompt.unsqueeze(0).expand(B, -1, -1), embeds), dim=1)
    m = torch.cat((torch.ones(B, prompt.shape[0], dtype=mask.dtype), mask), dim=1)
    return x, m


def gpt2_logits(p, prompt, tokens, mask):
    """GPT-2 from inputs_embeds: positions 0..n+T-1 over the whole sequence; the real rows' logits."""
    C, H, L = g.C, g.H, g.L
    x, m = with_prompt(prompt, p["wte.weight"][tokens], mask)
    B, T = x.shape[0], x.shape[1]
    x = x + p["wpe.weight"][torch.arange(T)]
    visible = visible_mask(m)
    hs = C // H
    for i in range(L):
        h = f"h.{i}."
        a = g.layer_norm(x, p[h + "ln_1.weight"], p[h + "ln_1.bias"])
        q, k, v = (a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (t.view(B, T, H, hs).transpose(1, 2) for t in (q, k, v))
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(hs)).masked_fill(~visible, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        mm = g.layer_norm(x, p[h + "ln_2.weight"], p[h + "ln_2.bias"])
        x = x + g.gelu_tanh(mm @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"]) @ p[h + "mlp.c_proj.weight"] \
            + p[h + "mlp.c_proj.bias"]
    out = g.layer_norm(x, p["ln_f.weight"], p["ln_f.bias"]) @ p["wte.weight"].T
    return out[:, prompt.shape[0]:]


def llama_logits(p, prompt, tokens, mask):
    x, m = with_prompt(prompt, p["model.embed_tokens.weight"][tokens], mask)
    B, T = x.shape[0], x.shape[1]
    positions = torch.arange(T).repeat(B, 1)
    visible = visible_mask(m)
    LH, LKV, LHS, LC = ia.LH, ia.LKV, ia.LHS, ia.LC
    for i in range(ia.LL):
        q_ = f"model.layers.{i}."
        a = ia.rms(x, p[q_ + "input_layernorm.weight"])
        q = (a @ p[q_ + "self_attn.q_proj.weight"].T).view(B, T, LH, LHS).transpose(1, 2)
        k = (a @ p[q_ + "self_attn.k_proj.weight"].T).view(B, T, LKV, LHS).transpose(1, 2)
        v = (a @ p[q_ + "self_attn.v_proj.weight"].T).view(B, T, LKV, LHS).transpose(1, 2)
        q, k = ia.rope(q, positions), ia.rope(k, positions)
        k = k.repeat_interleave(LH // LKV, dim=1)
        v = v.repeat_interleave(LH // LKV, dim=1)
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(LHS)).masked_fill(~visible, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, LC)
        x = x + y @ p[q_ + "self_attn.o_proj.weight"].T
        mm = ia.rms(x, p[q_ + "post_attention_layernorm.weight"])
        hdn = torch.nn.functional.silu(mm @ p[q_ + "mlp.gate_proj.weight"].T) * (mm @ p[q_ + "mlp.up_proj.weight"].T)
        x = x + hdn @ p[q_ + "mlp.down_proj.weight"].T
    out = ia.rms(x, p["model.norm.weight"]) @ p["lm_head.weight"].T
    return out[:, prompt.shape[0]:]


def fixture(out, p, logits_of, vocab, width, layers, heads, prefix_written):
    prompt = torch.randn(N_VIRTUAL, width, dtype=DT) * 0.5
    adapter = os.path.join(out, "adapter")
    os.makedirs(adapter, exist_ok=True)
    g.write_safetensors(os.path.join(adapter, "adapter_model.safetensors"), {"prompt_embeddings": prompt})
    with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "PROMPT_TUNING", "task_type": "CAUSAL_LM", "base_model_name_or_path": "model",
                   "revision": None, "inference_mode": True, "auto_mapping": None, "num_virtual_tokens": N_VIRTUAL,
                   "token_dim": width, "num_transformer_submodules": 1, "num_attention_heads": heads,
                   "num_layers": layers, "modules_to_save": None, "prompt_tuning_init": "RANDOM",
                   "prompt_tuning_init_text": None, "tokenizer_name_or_path": None, "tokenizer_kwargs": None}, f,
                  indent=2)
    p = {k: v.to(torch.float32).to(DT) for k, v in p.items()}
    prompt = prompt.to(torch.float32).to(DT).requires_grad_(True)
    B, T, tokens, mask, positions, targets, lw = g.lm_batch(vocab, 5)

    def loss_of(logits):
        logp = torch.log_softmax(logits.reshape(-1, vocab), dim=-1)
        return -(lw.reshape(-1) * logp.gather(1, targets.reshape(-1, 1)).squeeze(1)).sum()

    logits = logits_of(p, prompt, tokens, mask)
    loss = loss_of(logits)
    loss.backward()
    g.write_safetensors(os.path.join(out, "expected.safetensors"),
                        {"logits": logits.reshape(B * T, vocab), "grad.prompt_embeddings": prompt.grad})
    greedy, seq = [], [3, 17, 42, 5]
    with torch.no_grad():
        for _ in range(5):
            t = torch.tensor([seq])
            nxt = int(logits_of(p, prompt, t, torch.ones_like(t))[0, -1].argmax())
            greedy.append(nxt)
            seq.append(nxt)
    opt = torch.optim.AdamW([prompt], lr=ADAMW["lr"], betas=tuple(ADAMW["betas"]), eps=ADAMW["eps"],
                            weight_decay=ADAMW["weight_decay"])
    opt.step()
    with torch.no_grad():
        after = float(loss_of(logits_of(p, prompt, tokens, mask)))
    meta = {"batch": B, "time": T, "tokens": tokens.reshape(-1).tolist(), "positions": positions.reshape(-1).tolist(),
            "key_mask": mask.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
            "loss_weights": lw.reshape(-1).tolist(), "loss": float(loss), "loss_after_step": after,
            "adamw": ADAMW, "num_virtual_tokens": N_VIRTUAL, "greedy_prompt": [3, 17, 42, 5], "greedy": greedy,
            "torch_version": torch.__version__}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote prompt tuning fixtures to {out}: loss {float(loss):.6f}, after one step {after:.6f}, greedy {greedy}")


def gpt2_fixture(out):
    torch.manual_seed(24680)
    p = g.init_params()
    g.write_config(os.path.join(out, "model"))
    g.write_safetensors(os.path.join(out, "model", "model.safetensors"), {"transformer." + k: v for k, v in p.items()})
    fixture(out, p, gpt2_logits, g.V, g.C, g.L, g.H, True)


def llama_fixture(out):
    torch.manual_seed(13579)
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
    fixture(out, p, llama_logits, ia.LV, ia.LC, ia.LL, ia.LH, False)


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "core/src/test/resources/fixtures/prompt-tuning-tiny"
    gpt2_fixture(os.path.join(root, "gpt2"))
    llama_fixture(os.path.join(root, "llama"))
