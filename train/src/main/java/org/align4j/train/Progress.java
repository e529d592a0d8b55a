package org.align4j.train;

import java.io.PrintStream;

/**
 * Progress of a long job: a one-line bar redrawn in place on a terminal (step/total, loss,
 * tokens/s, ETA), plain lines elsewhere (logs, CI).
 */
public final class Progress {

    private final PrintStream out;
    private final boolean terminal;
    private final long total;
    private final long startNanos = System.nanoTime();
    private final long startStep;
    private long lastPlain;

    public Progress(PrintStream out, long total, long startStep) {
        this.out = out;
        this.terminal = System.console() != null && System.getenv("CI") == null;
        this.total = total;
        this.startStep = startStep;
    }

    public void update(long step, double loss, double tokensPerS) {
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        double perStep = (step - startStep) > 0 ? elapsed / (step - startStep) : 0;
        long eta = (long) (perStep * (total - step));
        // tokens/s is NaN where it would mislead (PPO counts its rollout throughput itself)
        String stats = String.format("loss %.4f  %sETA %s", loss,
                Double.isFinite(tokensPerS) ? String.format("%.0f tok/s  ", tokensPerS) : "", duration(eta));
        if (terminal) {
            int width = 30;
            int filled = (int) (width * step / Math.max(1, total));
            out.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + step + "/" + total + "  " + stats
                    + "   ");
            if (step == total) {
                out.println();
            }
        } else if (step == total || System.nanoTime() - lastPlain > 5_000_000_000L || step - startStep <= 1) {
            lastPlain = System.nanoTime();
            out.println("step " + step + "/" + total + "  " + stats);
        }
        out.flush();
    }

    /** A line that must not be overwritten by the bar. */
    public void message(String line) {
        if (terminal) {
            out.print("\r");
        }
        out.println(line);
    }

    static String duration(long seconds) {
        if (seconds >= 3600) {
            return String.format("%dh%02dm", seconds / 3600, (seconds % 3600) / 60);
        }
        return String.format("%dm%02ds", seconds / 60, seconds % 60);
    }
}
