package org.align4j.core.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.kernels.Kernels;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The one process-wide object: it starts ND4J with the right native build and chooses the
 * kernels. Everything else receives its {@link Kernels} explicitly.
 *
 * <p>Kernel choice: {@code -Dalign4j.kernels=generic|cpu} or the environment variable
 * {@code ALIGN4J_KERNELS}; by default the CPU fast path on nd4j-native, the generic ND4J-op
 * kernels on any other backend (CUDA).
 */
public final class Backend {

    private static volatile Backend instance;

    private final Kernels kernels;
    private final boolean useCpuKernels;
    private final String description;

    private Backend() {
        selectNativeBuild();
        String backendName = Nd4j.getBackend().getClass().getSimpleName();
        boolean cpu = backendName.toLowerCase().contains("cpu");
        String choice = System.getProperty("align4j.kernels", System.getenv().getOrDefault("ALIGN4J_KERNELS", ""));
        this.useCpuKernels = !(choice.equalsIgnoreCase("generic") || (!cpu && !choice.equalsIgnoreCase("cpu")));
        kernels = newKernels();
        description = backendName + ", kernels=" + kernels.name() + ", threads=" + threads()
                + ", native=" + System.getProperty("org.bytedeco.javacpp.platform.extension", "generic-x86");
    }

    /** The process's backend; initialises ND4J on first use. */
    public static Backend get() {
        Backend b = instance;
        if (b == null) {
            synchronized (Backend.class) {
                if (instance == null) {
                    instance = new Backend();
                }
                b = instance;
            }
        }
        return b;
    }

    public Kernels kernels() {
        return kernels;
    }

    /**
     * Kernels of the process's kind with their own scratch buffers and threads, for models that run
     * on their own thread beside others (the CPU kernels' scratch is not shared safely between
     * threads): each served model decodes with its own. Close a {@link CpuKernels} when done.
     */
    public Kernels newKernels() {
        Kernels generic = new GenericKernels();
        return useCpuKernels ? new CpuKernels(generic, threads()) : generic;
    }

    public String description() {
        return description;
    }

    /** Threads for our own loops: OMP_NUM_THREADS (which ND4J and OpenBLAS also read), else all cores. */
    public static int threads() {
        String omp = System.getenv("OMP_NUM_THREADS");
        if (omp != null) {
            try {
                return Math.max(1, Integer.parseInt(omp.trim()));
            } catch (NumberFormatException ignored) {
                // fall through to the core count
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * nd4j-native ships a generic x86-64 build and an AVX2 build; JavaCPP picks the AVX2 one
     * only when told by this property, which must be set before ND4J loads.
     */
    private static void selectNativeBuild() {
        String key = "org.bytedeco.javacpp.platform.extension";
        if (System.getProperty(key) != null) {
            return;
        }
        String arch = System.getProperty("os.arch", "");
        if (!(arch.equals("amd64") || arch.equals("x86_64"))) {
            return;
        }
        try {
            Path cpuinfo = Path.of("/proc/cpuinfo");
            if (Files.isReadable(cpuinfo) && Files.readString(cpuinfo).contains(" avx2")
                    && Backend.class.getClassLoader().getResource(
                            "org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64-avx2/libjnind4jcpu.so") != null) {
                System.setProperty(key, "-avx2");
            }
        } catch (IOException ignored) {
            // stay on the generic build
        }
    }
}
