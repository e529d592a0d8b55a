#!/usr/bin/env python3
"""Programmatically decided rankings for reward-model experiments (no dependency of the build).

  sentiment_labels.py prompts N SEED > prompts.jsonl        story openings in the base model's style
  sentiment_labels.py rank TASKS OUT.jsonl SEED TEMP        one simulated annotator's rankings of label tasks
  sentiment_labels.py agreement TASKS SEED1 SEED2 TEMP      pairwise agreement of two simulated annotators
  sentiment_labels.py gold TASKS OUT.jsonl                  noise-free rankings by the judge
  sentiment_labels.py samples GEN.jsonl                      judge score and KL of `generate --json --ref-model` output
  sentiment_labels.py accuracy SCORED.jsonl                  pairwise accuracy of `score` output on rankings

The judge: (positive words - negative words) / sqrt(words) of the response, with the feeling
words of examples' StoryCorpus and a few common sentiment words. A simulated annotator ranks the
K responses of a task by judge score + Gumbel noise * TEMP (a Bradley-Terry / Plackett-Luce
annotator); two annotators with independent noise disagree on some pairs, which sets the ceiling
a reward model can reach on their labels.
"""
import json
import math
import random
import re
import sys

POS = set("happy glad proud excited calm thankful cheerful joyful safe warm good great fun love loved smiled smile "
          "laughed laugh kind best wonderful lovely friend friends hug nice bright sunny brave lucky won".split())
NEG = set("sad worried scared tired upset lonely angry confused nervous sorry bad cried cry lost broke broken fell "
          "hurt afraid grumpy stormy cold dark alone mad".split())
NAMES = "Lily Tom Mia Ben Sara Max Anna Leo Zoe Sam Ella Jack Nora Finn Ruby Oscar Ivy Hugo Lucy Theo".split()
PLACES = ["the park", "the garden", "the forest", "the beach", "the farm", "the river", "the school", "the lake",
          "the zoo", "the library", "the castle", "the village", "the pond", "the museum", "the bakery"]
OPENINGS = ["{n} went to {p}.", "One day, {n} walked to {p}.", "{n} and {m} played at {p}.",
            "It was a rainy day at {p}.", "{n} found a box near {p}.", "After school, {n} ran to {p}."]


def judge(text):
    words = re.findall(r"[a-z]+", text.lower())
    if not words:
        return 0.0
    return (sum(w in POS for w in words) - sum(w in NEG for w in words)) / math.sqrt(len(words))


def tasks(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def ranking(scores, rng, temp):
    noisy = [s + (-math.log(-math.log(rng.random())) * temp if temp > 0 else 0.0) for s in scores]
    order = sorted(range(len(scores)), key=lambda i: -noisy[i])
    groups = []
    for i in order:  # equal noise-free scores with no noise are tied
        if groups and temp == 0 and noisy[groups[-1][0]] == noisy[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def main():
    cmd = sys.argv[1]
    if cmd == "prompts":
        n, rng = int(sys.argv[2]), random.Random(int(sys.argv[3]))
        for i in range(n):
            o = rng.choice(OPENINGS).format(n=rng.choice(NAMES), m=rng.choice(NAMES), p=rng.choice(PLACES))
            print(json.dumps({"id": f"s{sys.argv[3]}-{i}", "prompt": o}))
    elif cmd in ("rank", "gold"):
        rng = random.Random(int(sys.argv[4]) if cmd == "rank" else 0)
        temp = float(sys.argv[5]) if cmd == "rank" else 0.0
        with open(sys.argv[3], "w") as out:
            for t in tasks(sys.argv[2]):
                g = ranking([judge(r) for r in t["responses"]], rng, temp)
                if len(g) > 1:
                    out.write(json.dumps({"prompt": t["prompt"], "responses": t["responses"], "ranking": g}) + "\n")
    elif cmd == "samples":
        rows = tasks(sys.argv[2])
        def ci(xs):
            m = sum(xs) / len(xs)
            sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
            return [round(m, 4), round(1.96 * sd / math.sqrt(len(xs)), 4)]
        print(json.dumps({"n": len(rows), "gold_score": ci([judge(r["completion"]) for r in rows]),
                          "kl": ci([r["kl"] for r in rows]),
                          "tokens": round(sum(len(r["token_ids"]) for r in rows) / len(rows), 2)}))
    elif cmd == "accuracy":
        right = total = 0
        for r in tasks(sys.argv[2]):
            rank = {i: k for k, g in enumerate(r["ranking"]) for i in g}
            for i in range(len(r["rewards"])):
                for j in range(i + 1, len(r["rewards"])):
                    if rank[i] != rank[j]:
                        total += 1
                        right += (rank[i] < rank[j]) == (r["rewards"][i] > r["rewards"][j])
        print(json.dumps({"pairs": total, "accuracy": round(right / total, 4)}))
    elif cmd == "agreement":
        a, b, temp = random.Random(int(sys.argv[3])), random.Random(int(sys.argv[4])), float(sys.argv[5])
        agree = total = 0
        for t in tasks(sys.argv[2]):
            s = [judge(r) for r in t["responses"]]
            ra, rb = ranking(s, a, temp), ranking(s, b, temp)
            pa = {i: k for k, g in enumerate(ra) for i in g}
            pb = {i: k for k, g in enumerate(rb) for i in g}
            for i in range(len(s)):
                for j in range(i + 1, len(s)):
                    total += 1
                    agree += (pa[i] < pa[j]) == (pb[i] < pb[j])
        print(json.dumps({"pairs": total, "agreement": agree / total}))


if __name__ == "__main__":
    main()
