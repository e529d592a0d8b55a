#!/usr/bin/env bash
# PEFT's methods on the pipeline's DPO (issue 27's second column): from a finished pipeline
# directory (its SFT model, rankings and held-out prompts), DPO with full fine-tuning, LoRA r=8,
# DoRA r=8, IA3, prompt tuning and prefix tuning for the same number of steps, then every policy on
# the held-out prompts under the gold judge (compare: gold score with its interval, KL to SFT).
# Usage: tools/experiments/peft_dpo_experiment.sh PIPELINE_DIR OUT_DIR [STEPS]   (default 128 steps)
set -euo pipefail
P=$1; D=$2; STEPS=${3:-128}; A=${ALIGN4J:-./align4j}
mkdir -p "$D"
T="gpt2"
variants=("full:--lr 1e-4" \
          "lora-r8:--lora-r 8 --lora-alpha 16 --lora-targets c_attn,c_proj,c_fc --lr 1e-3" \
          "dora-r8:--lora-r 8 --lora-alpha 16 --lora-targets c_attn,c_proj,c_fc --use-dora --lr 1e-3" \
          "ia3:--peft ia3 --lr 3e-3" \
          "prompt-20:--peft prompt_tuning --num-virtual-tokens 20 --lr 3e-3" \
          "prefix-10:--peft prefix_tuning --num-virtual-tokens 10 --lr 3e-3")
policies=()
for v in "${variants[@]}"; do
  name=${v%%:*}; args=${v#*:}
  rm -rf "$D/dpo-$name"
  s=$(date +%s)
  # shellcheck disable=SC2086
  /usr/bin/time -v $A dpo --model "$P/sft/final" --ref-model "$P/sft/final" --train "$P/labels/rankings.train.jsonl" \
    --val "$P/labels/rankings.val.jsonl" --batch-size 8 --beta 0.1 --seed 1 --max-steps "$STEPS" --eval-every 1000 \
    --save-every 1000 --out "$D/dpo-$name" $args 2> "$D/dpo-$name.log" >/dev/null
  trainable=$(grep -o "^[0-9,]* of [0-9,]* parameters\|^[0-9,]* parameters" "$D/dpo-$name.log" | head -1 || true)
  echo "dpo $name: ${trainable}; $(( $(date +%s) - s )) s; peak RSS $(grep 'Maximum resident' "$D/dpo-$name.log" | awk '{print $6}') kB; val_loss $(grep -o 'val_loss [0-9.]*' "$D/dpo-$name.log" | tail -1)"
  policies+=(--policy "$name=$D/dpo-$name/final")
done
$A compare --reference "$P/sft/final" --policy "sft=$P/sft/final" "${policies[@]}" \
  --prompts "$P/task/prompts.heldout.jsonl" --judge sentiment --out "$D/eval" 2>&1 | tail -9
