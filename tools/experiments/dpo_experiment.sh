#!/usr/bin/env bash
# DPO family on the programmatically decided rankings of reward_experiment.sh (same DIR): held-out
# implicit-reward accuracy, the judge's score of samples on held-out prompts with 95% intervals,
# and the KL to the reference paid for it; DPO and SFT training tokens/s on the same model.
set -euo pipefail
D=$1; P=tools/experiments/sentiment_labels.py; BASE=examples/base-model
python3 -c "import json,sys
for l in open('$D/val_tasks.jsonl'): print(json.dumps({'prompt': json.loads(l)['prompt']}))" > $D/val_prompts.jsonl
GEN="--prompts $D/val_prompts.jsonl --max-new-tokens 48 --temperature 1 --seed 7 --batch-size 8 --json --ref-model $BASE"
${ALIGN4J:-./align4j} generate --model $BASE $GEN > $D/samples-base.jsonl
echo "base: $(python3 $P samples $D/samples-base.jsonl)"
COMMON="--model $BASE --train $D/train.jsonl --val $D/val.jsonl --epochs 1 --batch-size 16 --lr 1e-4 --max-length 96 --seed 3 --eval-every 60"
for run in "sigmoid-0.05:--beta 0.05" "sigmoid-0.1:--beta 0.1" "sigmoid-0.5:--beta 0.5" "ipo-0.1:--loss ipo --beta 0.1"; do
  name=${run%%:*}; args=${run#*:}
  ${ALIGN4J:-./align4j} dpo $COMMON --out $D/dpo-$name $args
  ${ALIGN4J:-./align4j} generate --model $D/dpo-$name/final $GEN > $D/samples-$name.jsonl
  echo "$name: $(python3 $P samples $D/samples-$name.jsonl) $(tail -1 $D/dpo-$name/metrics.jsonl)"
done
# SFT on the same model and tokens (chosen continuations as prompt-completion records), for tokens/s
python3 -c "import json
for l in open('$D/train.jsonl'):
    r = json.loads(l); print(json.dumps({'prompt': r['prompt'], 'completion': r['responses'][r['ranking'][0][0]]}))" > $D/sft.jsonl
${ALIGN4J:-./align4j} sft --model $BASE --train $D/sft.jsonl --out $D/sft-speed --max-steps 60 --batch-size 32 --max-length 96 --no-packing
