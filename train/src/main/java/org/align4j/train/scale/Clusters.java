package org.align4j.train.scale;

import java.util.ServiceLoader;

import org.align4j.core.util.UserInputException;

/** Reaches the scale-out engine by name, so that nothing loads it unless a command is given a master. */
public final class Clusters {

    private Clusters() {
    }

    /**
     * The cluster at {@code master} (e.g. {@code local[2]}, {@code spark://host:7077}). {@code option}
     * names where the URL came from, for the error when no engine is on the class path or the URL is bad.
     */
    public static Cluster connect(String master, String option) {
        for (ClusterProvider p : ServiceLoader.load(ClusterProvider.class)) {
            try {
                return p.connect(master);
            } catch (UserInputException e) {
                // the engine says what is wrong with the URL; the user needs to know which option gave it
                throw new UserInputException(option + " " + e.getMessage());
            }
        }
        throw new UserInputException(option + " " + master + ": this build has no cluster engine (the align4j-cluster"
                + " module and Apache Spark are not on the class path)");
    }
}
