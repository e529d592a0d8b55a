#!/usr/bin/env bash
# Memory and step time of LoRA on a random model of a published shape over the embedded tokenizer:
# GPT-2-124M (12 layers, d_model 768, 12 heads, vocabulary 50,257; LoRA on c_attn, c_proj, c_fc) or
# SmolLM2-135M (Llama: 30 layers, 576 wide, 9 heads over 3 key/value heads, SwiGLU 1536, vocabulary
# 49,152, tied; LoRA on all seven projections): SFT with an fp32, int8 and NF4 base, and full
# fine-tuning for comparison; then PPO iterations with and without LoRA. Usage: DIR [gpt2-124m|smollm2-135m]
set -euo pipefail
D=$1; SHAPE=${2:-gpt2-124m}; A=${ALIGN4J:-./align4j}; mkdir -p $D
if [ "$SHAPE" = smollm2-135m ]; then
  M=$D/smollm2; T=q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj
  [ -d $M ] || $A init --tokenizer examples/base-model --arch llama --layers 30 --d-model 576 --heads 9 --kv-heads 3 \
      --intermediate-size 1536 --context 2048 --vocab-size 49152 --out $M >/dev/null
else
  M=$D/g124; T=c_attn,c_proj,c_fc
  [ -d $M ] || $A init --tokenizer examples/base-model --layers 12 --d-model 768 --heads 12 --context 1024 \
      --vocab-size 50257 --out $M >/dev/null
fi
python3 -c "
import json
for i in range(64): print(json.dumps({'text': 'Once upon a time there was a little fox who liked to run in the big green forest. ' * 3}))" > $D/text.jsonl
row() {  # name log run
  python3 - "$@" <<'PY'
import json, re, statistics as S, sys
name, log, run = sys.argv[1:4]
rows = [json.loads(l) for l in open(run + '/metrics.jsonl')]
tps = [r['tokens_per_s'] for r in rows if 'tokens_per_s' in r][2:]
rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', open(log).read()).group(1))
print(f"{name}: peak RSS {rss/1024:.0f} MiB; median {S.median(tps):.0f} tokens/s; losses {rows[0]['loss']:.4f} -> {rows[-1]['loss']:.4f}")
PY
}
COMMON="--model $M --train $D/text.jsonl --max-steps 8 --batch-size 4 --max-length 64 --lr 1e-3 --seed 1 --save-every 100"
for v in "full:" "lora-fp32:--lora-r 8 --lora-targets $T" \
         "lora-int8:--lora-r 8 --lora-targets $T --quantize-base int8" \
         "lora-nf4:--lora-r 8 --lora-targets $T --quantize-base nf4"; do
  n=${v%%:*}; args=${v#*:}; rm -rf $D/sft-$n
  /usr/bin/time -v $A sft $COMMON --out $D/sft-$n $args 2> $D/sft-$n.log >/dev/null || { tail -3 $D/sft-$n.log; exit 1; }
  row sft-$n $D/sft-$n.log $D/sft-$n
done
python3 -c "
import json
for i in range(16): print(json.dumps({'prompt': 'Once upon a time there was a fox number %d.' % i}))" > $D/prompts.jsonl
for v in "ppo-full:" "ppo-lora:--lora-r 8 --lora-targets $T" "ppo-qlora-nf4:--lora-r 8 --lora-targets $T --quantize-base nf4"; do
  n=${v%%:*}; args=${v#*:}; rm -rf $D/$n
  /usr/bin/time -v $A ppo --model $M --reward-fn length:16 --prompts $D/prompts.jsonl --max-steps 2 --batch-size 4 \
      --max-new-tokens 32 --seed 1 --save-every 100 --out $D/$n $args 2> $D/$n.log >/dev/null || { tail -3 $D/$n.log; exit 1; }
  echo "$n: peak RSS $(( $(grep 'Maximum resident' $D/$n.log | awk '{print $6}') / 1024 )) MiB; $(grep -o '^[0-9,]* of [0-9,]* parameters\|^[0-9,]* parameters' $D/$n.log | head -1)"
done
