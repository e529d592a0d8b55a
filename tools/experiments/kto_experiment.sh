#!/usr/bin/env bash
# KTO on the programmatically decided rankings of reward_experiment.sh (same DIR), unpaired top vs
# bottom ('data to-kto': each ranking's best response up, its worst down), against the DPO rows of
# dpo_experiment.sh: the judge's score of samples on the same held-out prompts with a 95% interval
# and the KL to the reference paid for it. Only DIR/train.jsonl, DIR/val.jsonl and
# DIR/val_tasks.jsonl of reward_experiment.sh are needed (its first lines make them).
set -euo pipefail
D=$1; P=tools/experiments/sentiment_labels.py; BASE=examples/base-model
python3 -c "import json,sys
for l in open('$D/val_tasks.jsonl'): print(json.dumps({'prompt': json.loads(l)['prompt']}))" > $D/val_prompts.jsonl
GEN="--prompts $D/val_prompts.jsonl --max-new-tokens 48 --temperature 1 --seed 7 --batch-size 8 --json --ref-model $BASE"
${ALIGN4J:-./align4j} data to-kto $D/train.jsonl --out $D/thumbs.jsonl
${ALIGN4J:-./align4j} data to-kto $D/val.jsonl --out $D/thumbs.val.jsonl
COMMON="--model $BASE --train $D/thumbs.jsonl --val $D/thumbs.val.jsonl --epochs 1 --batch-size 16 --lr 1e-4 --max-length 96 --seed 3 --eval-every 20"
for run in "kto-0.1:--beta 0.1" "${@:2}"; do
  name=${run%%:*}; args=${run#*:}
  ${ALIGN4J:-./align4j} kto $COMMON --out $D/$name $args
  ${ALIGN4J:-./align4j} generate --model $D/$name/final $GEN > $D/samples-$name.jsonl
  echo "$name: $(python3 $P samples $D/samples-$name.jsonl) $(tail -1 $D/$name/metrics.jsonl)"
done
# controls: the base model, and DPO on the same information (each ranking's best against its worst, one pair)
${ALIGN4J:-./align4j} generate --model $BASE $GEN > $D/samples-base.jsonl
echo "base: $(python3 $P samples $D/samples-base.jsonl)"
for f in train val; do python3 -c "import json
for l in open('$D/$f.jsonl'):
    r = json.loads(l); g = r['ranking']
    if len(g) > 1: print(json.dumps({'prompt': r['prompt'], 'chosen': r['responses'][g[0][0]], 'rejected': r['responses'][g[-1][0]]}))" > $D/topbottom.$f.jsonl; done
${ALIGN4J:-./align4j} dpo --model $BASE --train $D/topbottom.train.jsonl --val $D/topbottom.val.jsonl --epochs 1 --batch-size 16 --lr 1e-4 --max-length 96 --seed 3 --eval-every 20 --out $D/dpo-topbottom-0.1 --beta 0.1
${ALIGN4J:-./align4j} generate --model $D/dpo-topbottom-0.1/final $GEN > $D/samples-dpo-topbottom-0.1.jsonl
echo "dpo-topbottom-0.1: $(python3 $P samples $D/samples-dpo-topbottom-0.1.jsonl)"
