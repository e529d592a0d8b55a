#!/bin/bash
# Distils examples/base-model into a 2-layer, 64-wide student on EmojiBot chats (60 steps each:
# forward KL on the data, GKD beta 0.5 lmbda 0.5, on-policy reverse KL) and SFTs the same student on
# the same data, then measures every student's forward KL to the teacher on the held-out chats.
set -euo pipefail
cd "$(dirname "$0")/../.."
A=./align4j
E=${1:?usage: tools/experiments/distill_experiment.sh OUT_DIR}
T=examples/base-model
COMMON="--train examples/emojibot/train.jsonl --val examples/emojibot/val.jsonl --batch-size 16 --max-length 128 --max-new-tokens 32 --seed 1 --eval-every 60 --save-every 1000 --log-every 10"
$A init --tokenizer $T --layers 2 --d-model 64 --heads 4 --context 128 --seed 1 --out $E/student
evalkl() { $A distill --teacher $T --model $1 $COMMON --out $E/eval-$2 --lmbda 0 --beta 0 --max-steps 1 --lr 1e-12 2>/dev/null; python3 -c "import json;print('$2', 'val forward KL', json.loads(open('$E/eval-$2/metrics.jsonl').readlines()[-1])['val_loss'])"; }
evalkl $E/student init
for cfg in "kd:--lmbda 0 --beta 0" "gkd:--lmbda 0.5 --beta 0.5" "opd:--lmbda 1 --beta 1"; do
  name=${cfg%%:*}; opts=${cfg#*:}
  s=$(date +%s); $A distill --teacher $T --model $E/student $COMMON --out $E/$name --max-steps 60 --lr 3e-3 --warmup-steps 5 $opts 2> $E/$name.log; echo "$name: $(( $(date +%s) - s )) s"
  evalkl $E/$name/final $name
done
s=$(date +%s); $A sft --model $E/student --train examples/emojibot/train.jsonl --val examples/emojibot/val.jsonl --batch-size 16 --max-length 128 --seed 1 --eval-every 60 --save-every 1000 --out $E/sft --max-steps 60 --lr 3e-3 --warmup-steps 5 2> $E/sft.log; echo "sft: $(( $(date +%s) - s )) s"
evalkl $E/sft/final sft
