#!/usr/bin/env bash
# Reward model on programmatically decided rankings of the embedded base model's own samples, and
# active selection (uncertainty vs random) at equal label budgets. Usage: reward_experiment.sh DIR
# (DIR/tasks.jsonl from: align4j label prepare --model examples/base-model --prompts DIR/prompts.jsonl
#  --k 4 --max-new-tokens 48 --seed 1 --out DIR/tasks.jsonl, prompts from sentiment_labels.py prompts 700 1)
set -euo pipefail
D=$1; P=tools/experiments/sentiment_labels.py; T=${TEMP:-0.07}
head -500 $D/tasks.jsonl > $D/train_tasks.jsonl; tail -200 $D/tasks.jsonl > $D/val_tasks.jsonl
echo "annotator agreement (temp $T): $(python3 $P agreement $D/val_tasks.jsonl 11 12 $T)"
python3 $P rank $D/train_tasks.jsonl $D/train.jsonl 11 $T     # annotator A labels training prompts
python3 $P rank $D/val_tasks.jsonl $D/val.jsonl 12 $T         # annotator B labels held-out prompts
python3 $P gold $D/val_tasks.jsonl $D/val_gold.jsonl
RM="--lr 1e-4 --batch-size 8 --max-length 96 --seed 3 --eval-every 50"
${ALIGN4J:-./align4j} reward --model examples/base-model --train $D/train.jsonl --val $D/val.jsonl --out $D/rm --epochs 3 $RM
${ALIGN4J:-./align4j} score --model $D/rm/final --data $D/val_gold.jsonl --out $D/val_gold.scored.jsonl
# active selection: seed model on 100 prompts, then 100 more chosen from a fresh pool of 300
head -100 $D/train.jsonl > $D/seed.jsonl
${ALIGN4J:-./align4j} reward --model examples/base-model --train $D/seed.jsonl --val $D/val.jsonl --out $D/rm-seed --epochs 3 $RM
sed -n 101,400p $D/prompts.jsonl > $D/pool.jsonl
for s in uncertainty random; do
  ${ALIGN4J:-./align4j} label prepare --model examples/base-model --prompts $D/pool.jsonl --k 4 --max-new-tokens 48 --seed 2 \
      --reward-model $D/rm-seed/final --select $s --budget 100 --out $D/sel-$s.jsonl
  python3 $P rank $D/sel-$s.jsonl $D/sel-$s.ranked.jsonl 13 $T
  cat $D/seed.jsonl $D/sel-$s.ranked.jsonl > $D/train-$s.jsonl
  ${ALIGN4J:-./align4j} reward --model examples/base-model --train $D/train-$s.jsonl --val $D/val.jsonl --out $D/rm-$s --epochs 3 $RM
  ${ALIGN4J:-./align4j} score --model $D/rm-$s/final --data $D/val_gold.jsonl --out $D/val_gold.$s.jsonl
done
