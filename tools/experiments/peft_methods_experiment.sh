#!/usr/bin/env bash
# PEFT's methods against full fine-tuning on EmojiBot SFT (issue 27's table): full, LoRA r=8, DoRA r=8,
# IA3, prompt tuning and prefix tuning, each a short run from examples/emojibot/sft.json. Prints the
# trainable parameters, the median training tokens/s, the peak resident memory, the last validation
# loss and the held-out measure (the share of validation prompts answered with emoji codes only).
# Usage: tools/experiments/peft_methods_experiment.sh DIR [STEPS]   (STEPS: optimizer steps, default 150)
set -euo pipefail
D=$1; STEPS=${2:-150}; A=${ALIGN4J:-./align4j}
mkdir -p "$D"
PATTERN='(\((sadkoala|hug|cry|tired|coffee|sleepy|party|clap|100|like|heart|cool|wave|sun|smile|rain|umbrella|laugh|rofl|facepalm|pizza|yum|cake|gift|angry|muscle|rocket|thinking|yes|no|shake|emoji|blush|music|dance|surprised|shock|yawn|hot|icecream|airplane)\)\s*)+'
stats() {  # median tokens/s after the first 3 logged steps; the last validation loss
  python3 -c "
import json,statistics as S
rows=[json.loads(l) for l in open('$1/metrics.jsonl')]
t=[r['tokens_per_s'] for r in rows if 'tokens_per_s' in r][3:]
v=[r[k] for r in rows for k in ('val_loss','eval_loss') if k in r]
print(round(S.median(t)) if t else 'n/a', round(v[-1],3) if v else 'n/a')"
}
variants=("full:--lr 3e-3" \
          "lora-r8:--lora-r 8 --lora-alpha 16 --lora-targets c_attn,c_proj,c_fc --lr 1e-2" \
          "dora-r8:--lora-r 8 --lora-alpha 16 --lora-targets c_attn,c_proj,c_fc --use-dora --lr 1e-2" \
          "ia3:--peft ia3 --lr 3e-2" \
          "prompt-20:--peft prompt_tuning --num-virtual-tokens 20 --prompt-tuning-init-text (smile) --lr 3e-2" \
          "prefix-10:--peft prefix_tuning --num-virtual-tokens 10 --lr 3e-2")
for v in "${variants[@]}"; do
  name=${v%%:*}; args=${v#*:}
  rm -rf "$D/emojibot-$name"
  # shellcheck disable=SC2086
  /usr/bin/time -v $A sft --config examples/emojibot/sft.json --out "$D/emojibot-$name" --max-steps "$STEPS" \
    --eval-every 50 $args 2> "$D/emojibot-$name.log" >/dev/null
  trainable=$(grep -o "^[0-9,]* of [0-9,]* parameters\|^[0-9,]* parameters" "$D/emojibot-$name.log" | head -1 || true)
  rate=$($A eval --model "$D/emojibot-$name/final" --data examples/emojibot/val.jsonl --generate --answer-pattern "$PATTERN" --json 2>/dev/null \
    | python3 -c "import json,sys; d=json.load(sys.stdin); print(round(100*d['answer_pattern_match_rate'],1))")
  read -r tps vloss < <(stats "$D/emojibot-$name")
  echo "emojibot $name: ${trainable}; tokens/s $tps; peak RSS $(grep 'Maximum resident' "$D/emojibot-$name.log" | awk '{print $6}') kB; val loss $vloss; codes-only $rate%"
done
