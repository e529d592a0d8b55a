#!/usr/bin/env python3
"""Where a PPO run's time goes, from a JFR recording: Java and native samples that pass through
align4j's code, attributed to the PpoTrainer phase on their stack (rollout, passes, score, update),
then the samples of one phase (default: the update) grouped by their innermost align4j frame and,
when the leaf is outside align4j (OpenBLAS, ND4J), that leaf. Kernel threads' samples carry no
trainer frame and count as "other". Usage:

    ALIGN4J_JAVA_OPTS="-XX:FlightRecorderOptions:stackdepth=512 -XX:StartFlightRecording=filename=ppo.jfr,settings=profile" \\
        ./align4j ppo ...
    python3 tools/bench/jfr_phases.py ppo.jfr [PpoTrainer.update]
"""
import collections
import re
import subprocess
import sys

jfr = sys.argv[1]
phase = sys.argv[2] if len(sys.argv) > 2 else 'PpoTrainer.update'
txt = subprocess.run(['jfr', 'print', '--stack-depth', '300', '--events',
                      'jdk.ExecutionSample,jdk.NativeMethodSample', jfr], capture_output=True, text=True).stdout
phases = collections.Counter()
inner = collections.Counter()
total = 0
for ev in re.split(r'\njdk\.(?:ExecutionSample|NativeMethodSample)', txt):
    frames = re.findall(r'^\s+([\w.$<>]+)\((?:.*?)\)\s+line:', ev, re.M)
    if not any('org.align4j' in f for f in frames):
        continue
    total += 1
    top = next((f for f in frames if re.search(r'PpoTrainer\.(update|rollout|passes|score|step)$', f)), None)
    phases[top.split('.')[-1] if top else 'other'] += 1
    if top and phase in top:
        a4j = next(f for f in frames if f.startswith('org.align4j'))
        leaf = '' if frames[0].startswith('org.align4j') else ' -> ' + '.'.join(frames[0].split('.')[-2:])
        inner[a4j.replace('org.align4j.', '') + leaf] += 1
print('samples in align4j stacks', total, {k: f'{100 * v / total:.1f}%' for k, v in phases.most_common()})
n = sum(inner.values())
print(f'{phase}: {n} samples')
for k, v in inner.most_common(25):
    print(f'{100 * v / n:5.1f}%  {k}')
