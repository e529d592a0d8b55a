package org.align4j.cli;

import org.align4j.train.scale.Cluster;
import org.align4j.train.scale.Clusters;
import org.align4j.train.scale.ScaleOut;
import picocli.CommandLine.Option;

/**
 * {@code --spark-master URL} (or ALIGN4J_SPARK_MASTER) and {@code --spark-partitions N}: run the
 * command's batch work, or a training command's steps, as Spark jobs. Without a master nothing of
 * Spark is loaded.
 */
final class SparkOption {

    @Option(names = "--spark-master", paramLabel = "URL", defaultValue = "${env:ALIGN4J_SPARK_MASTER}",
            description = {"run the work as Spark jobs: local[N] (embedded, N threads), spark://HOST:PORT (a standalone"
                    + " cluster), k8s://...; default: $ALIGN4J_SPARK_MASTER, else one process without Spark"})
    String master;

    @Range(min = 1)
    @Option(names = "--spark-partitions", paramLabel = "N",
            description = "slices of the input (training: of each step's micro-batches), each one Spark task (default:"
                    + " the cluster's cores); batch output does not depend on it, training only in float rounding")
    Integer partitions;

    boolean enabled() {
        return master != null && !master.isBlank();
    }

    Cluster connect() {
        return Clusters.connect(master, "--spark-master");
    }

    int partitions(Cluster cluster) {
        return partitions != null ? partitions : cluster.defaultParallelism();
    }

    /** For a training command: each step's micro-batches in --spark-partitions slices on the cluster; null without a master. */
    ScaleOut scaleOut() {
        if (!enabled()) {
            return null;
        }
        Cluster cluster = connect();
        return new ScaleOut(cluster, partitions(cluster));
    }
}
