package org.align4j.cluster;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.align4j.core.util.UserInputException;

/**
 * Checks a master URL before Spark sees it: Spark's own message for a typo comes from deep inside
 * SparkContext's start-up, and an unreachable standalone master makes it retry for a minute.
 */
final class MasterUrl {

    private static final Pattern LOCAL = Pattern.compile("local(\\[(\\d+|\\*)(,\\d+)?])?");
    private static final Pattern STANDALONE = Pattern.compile("spark://([^:/,]+):(\\d+)");
    private static final String FORMS = "expected local, local[N], local[*], spark://HOST:PORT, k8s://https://HOST:PORT"
            + " or yarn";
    private static final int CONNECT_TIMEOUT_MS = 5000;

    private MasterUrl() {
    }

    /** True for the embedded masters, whose executors share the driver's file system and JVM. */
    static boolean isLocal(String master) {
        return LOCAL.matcher(master).matches();
    }

    static void check(String master) {
        if (master == null || master.isBlank()) {
            throw new UserInputException("'" + master + "': empty master URL; " + FORMS);
        }
        Matcher local = LOCAL.matcher(master);
        if (local.matches()) {
            if ("0".equals(local.group(2))) {
                throw new UserInputException(master + ": local[0] has no executor threads; give local[N] with N >= 1");
            }
            return;
        }
        if (master.startsWith("k8s://") || master.equals("yarn")) {
            return; // Spark checks these itself, with the cluster's own errors
        }
        if (master.startsWith("spark://")) {
            // a standalone master list (HA) is comma-separated; each must answer
            for (String hostPort : master.substring("spark://".length()).split(",")) {
                Matcher m = STANDALONE.matcher("spark://" + hostPort);
                if (!m.matches()) {
                    throw new UserInputException(master + ": '" + hostPort + "' is not HOST:PORT; " + FORMS);
                }
                reachable(master, m.group(1), Integer.parseInt(m.group(2)));
            }
            return;
        }
        throw new UserInputException(master + ": not a Spark master URL; " + FORMS);
    }

    private static void reachable(String master, String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MS);
        } catch (IOException | IllegalArgumentException e) {
            throw new UserInputException(master + ": no Spark master answers at " + host + ":" + port + " ("
                    + e.getMessage() + ")");
        }
    }
}
