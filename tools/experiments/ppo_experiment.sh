#!/usr/bin/env bash
# PPO, PPO-ptx, RLOO and GRPO on the controlled task of reward_experiment.sh (same DIR): each policy
# optimises the reward model trained on annotator labels (DIR/rm/final) from the base model, and is
# judged by the gold judge on the 200 held-out prompts, with its KL to the base model.
set -euo pipefail
D=$1; P=tools/experiments/sentiment_labels.py; BASE=examples/base-model; A=${ALIGN4J:-./align4j}
python3 -c "import json
for l in open('$D/train_tasks.jsonl'): print(json.dumps({'prompt': json.loads(l)['prompt']}))" > $D/train_prompts.jsonl
[ -f $D/ptx.jsonl ] || $A examples stories --count 2000 --seed 99 --out $D/ptx
GEN="--prompts $D/val_prompts.jsonl --max-new-tokens 48 --temperature 1 --seed 7 --batch-size 8 --json --ref-model $BASE"
COMMON="--model $BASE --reward-model $D/rm/final --prompts $D/train_prompts.jsonl --max-steps ${ITERS:-40} --lr 3e-5 --max-new-tokens 48 --kl-coef 0.05 --seed 3 --save-every 20"
for run in "ppo:--batch-size 32" "ppo-ptx:--batch-size 32 --ptx-data $D/ptx.jsonl --ptx-coef 1" \
           "rloo:--batch-size 8 --estimator rloo --samples-per-prompt 4" "grpo:--batch-size 8 --estimator grpo --samples-per-prompt 4"; do
  name=${run%%:*}; args=${run#*:}
  rm -rf $D/$name
  /usr/bin/time -v $A ppo $COMMON --out $D/$name $args 2> $D/$name.log >/dev/null || { tail -5 $D/$name.log; exit 1; }
  $A generate --model $D/$name/final $GEN > $D/samples-$name.jsonl 2>/dev/null
  echo "$name: $(python3 $P samples $D/samples-$name.jsonl) peak RSS $(grep 'Maximum resident' $D/$name.log | awk '{print $6}') kB"
  python3 -c "
import json,statistics as S
rows=[json.loads(l) for l in open('$D/$name/metrics.jsonl')]
f=lambda k: round(S.median(r[k] for r in rows),3)
print('  median per iteration: rollout', f('time/rollout'), 's, scoring', f('time/scoring'), 's, update', f('time/update'),
      's; rollout', round(S.median(r['rollout_tokens_per_s'] for r in rows)), 'tokens/s; scores', round(rows[0]['objective/scores'],3), '->', round(rows[-1]['objective/scores'],3))"
done
