# Sourced by the Spark bench scripts: compiles what is stale (Maven offline), snapshots every module's
# classes under $out/classes (a rebuild while the runs go must not change them under the JVMs), and
# defines $cp, $opens (Spark's --add-opens flags from the root pom) and a4j, align4j's CLI on that
# classpath with a heap of ${HEAP:-$default_heap}. Needs $root, $out and $default_heap set.
cp_file="$out/classpath.txt"
(cd "$root" && mvn -B -q -o -pl cli -am test-compile dependency:build-classpath -Dmdep.includeScope=runtime \
    -Dmdep.outputFile="$cp_file" >/dev/null)
rm -rf "$out/classes" && mkdir -p "$out/classes"
for m in core data train sft reward dpo kto distill ppo pipeline serve cluster examples cli; do
  cp -r "$root/$m/target/classes" "$out/classes/$m"
done
cp="$(for m in cli core data train sft reward dpo kto distill ppo pipeline serve cluster examples; do
  printf '%s:' "$out/classes/$m"; done)$(tr ':' '\n' < "$cp_file" | grep -v '/target/classes$' | paste -sd: -)"
opens="$(sed -n 's:.*<spark.java.opens>\(.*\)</spark.java.opens>.*:\1:p' "$root/pom.xml")"
a4j() { java -Xmx${HEAP:-$default_heap} $opens -cp "$cp" org.align4j.cli.Align4j "$@"; }
