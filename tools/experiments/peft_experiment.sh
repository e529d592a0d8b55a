#!/usr/bin/env bash
# Parameter-efficient training against full fine-tuning: EmojiBot (SFT) and DPO on the controlled
# task, each as full, LoRA r=8, frozen embeddings and blocks 0-1, and BitFit. Prints trainable
# parameters, median step time, peak resident memory and the quality measure of each.
# Usage: tools/experiments/peft_experiment.sh DIR PIPELINE_DIR   (PIPELINE_DIR: a finished pipeline)
set -euo pipefail
D=$1; PIPE=$2; A=${ALIGN4J:-./align4j}
mkdir -p $D
PATTERN='(\((sadkoala|hug|cry|tired|coffee|sleepy|party|clap|100|like|heart|cool|wave|sun|smile|rain|umbrella|laugh|rofl|facepalm|pizza|yum|cake|gift|angry|muscle|rocket|thinking|yes|no|shake|emoji|blush|music|dance|surprised|shock|yawn|hot|icecream|airplane)\)\s*)+'
median_step() {  # median seconds per step from metrics.jsonl (time between rows is not logged: tokens/s)
  python3 -c "
import json,statistics as S
rows=[json.loads(l) for l in open('$1/metrics.jsonl')]
t=[r['tokens_per_s'] for r in rows if 'tokens_per_s' in r][3:]
print(round(S.median(t)) if t else 'n/a')"
}
variants=("full:" "lora-r8:--lora-r 8 --lora-alpha 16 --lora-targets c_attn,c_proj,c_fc" \
          "freeze:--freeze embeddings,layers:0-1" "bitfit:--train-only biases")
for v in "${variants[@]}"; do
  name=${v%%:*}; args=${v#*:}
  lr=""; [ "$name" = "lora-r8" ] && lr="--lr 1e-2"; [ "$name" = "bitfit" ] && lr="--lr 1e-2"
  rm -rf $D/emojibot-$name
  /usr/bin/time -v $A sft --config examples/emojibot/sft.json --out $D/emojibot-$name $args $lr 2> $D/emojibot-$name.log >/dev/null
  trainable=$(grep -o "^[0-9,]* of [0-9,]* parameters\|^[0-9,]* parameters" $D/emojibot-$name.log | head -1)
  rate=$($A eval --model $D/emojibot-$name/final --data examples/emojibot/val.jsonl --generate --answer-pattern "$PATTERN" --json 2>/dev/null \
    | python3 -c "import json,sys; d=json.load(sys.stdin); print(round(100*d['answer_pattern_match_rate'],1))")
  echo "emojibot $name: $trainable; tokens/s $(median_step $D/emojibot-$name); peak RSS $(grep 'Maximum resident' $D/emojibot-$name.log | awk '{print $6}') kB; answer-pattern rate $rate%"
done
for v in "${variants[@]}"; do
  name=${v%%:*}; args=${v#*:}
  lr="--lr 1e-4"; [ "$name" = "lora-r8" ] && lr="--lr 1e-3"; [ "$name" = "bitfit" ] && lr="--lr 1e-3"
  rm -rf $D/dpo-$name
  /usr/bin/time -v $A dpo --model $PIPE/sft/final --train $PIPE/labels/rankings.train.jsonl --val $PIPE/labels/rankings.val.jsonl \
    --out $D/dpo-$name --epochs 1 --batch-size 8 --beta 0.1 --seed 1 $lr $args 2> $D/dpo-$name.log >/dev/null
  trainable=$(grep -o "^[0-9,]* of [0-9,]* parameters\|^[0-9,]* parameters" $D/dpo-$name.log | head -1)
  echo "dpo $name: $trainable; tokens/s $(median_step $D/dpo-$name); peak RSS $(grep 'Maximum resident' $D/dpo-$name.log | awk '{print $6}') kB"
done
$A compare --reference $PIPE/sft/final --policy sft=$PIPE/sft/final $(for v in "${variants[@]}"; do n=${v%%:*}; printf -- "--policy dpo-%s=%s/dpo-%s/final " $n $D $n; done) \
  --prompts $PIPE/task/prompts.heldout.jsonl --judge sentiment --reward-model $PIPE/reward/final --out $D/compare 2>/dev/null
