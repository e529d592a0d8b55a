#!/usr/bin/env bash
# Where the time of moving weights to an executor and gradients back goes (docs: README "Running on a
# Spark cluster"): tools/bench/SparkTransferBench.java for the embedded model's trainable floats
# (2.2M, 8.9 MB) and GPT-2-124M's (124.4M, 498 MB): copies, Java serialisation, lz4, a local[1] round trip
# under the old and the new settings, the driver's AdamW step and ordered add.
#   tools/bench/spark-transfer.sh [FLOATS...]      (Maven offline; compiles what is stale)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mktemp -d)"
cd "$root"
mvn -B -q -o -pl cluster -am compile dependency:build-classpath -Dmdep.includeScope=runtime \
    -Dmdep.outputFile="$out/cp.txt" >/dev/null
cp="core/target/classes:data/target/classes:train/target/classes:$(tr ':' '\n' < "$out/cp.txt" | grep -v '/target/classes$' | paste -sd: -)"
mkdir -p "$out/bench"
javac -q -cp "$cp" -d "$out/bench" tools/bench/SparkTransferBench.java 2>/dev/null || javac -cp "$cp" -d "$out/bench" tools/bench/SparkTransferBench.java
opens="$(sed -n 's:.*<spark.java.opens>\(.*\)</spark.java.opens>.*:\1:p' pom.xml)"
for p in "${@:-2200000 124400000}"; do
  java -Xmx${HEAP:-6g} -Dorg.bytedeco.javacpp.maxbytes=8G -Dorg.bytedeco.javacpp.maxphysicalbytes=16G $opens \
      -cp "$out/bench:$cp" SparkTransferBench "$p" "${REPEATS:-3}" 2> "$out/stderr-$p.txt" || { tail -30 "$out/stderr-$p.txt"; exit 1; }
done
