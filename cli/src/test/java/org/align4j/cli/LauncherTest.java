package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./align4j} launcher starts the JVM with UTF-8 arguments and streams under
 * {@code LANG=C}; a stand-in {@code java} reports how it was started (no build needed).
 */
class LauncherTest {

    @TempDir
    Path tmp;

    @Test
    void underTheCLocaleTheJvmStillGetsUtf8() throws Exception {
        Path launcher = Path.of("..", "align4j").toAbsolutePath().normalize();
        Path root = tmp.resolve("repo");
        Files.createDirectories(root.resolve("cli/target"));
        Files.copy(launcher, root.resolve("align4j"));
        Files.writeString(root.resolve("cli/target/align4j.jar"), "");
        Files.writeString(root.resolve("cli/target/.build-opts"), "");
        Path bin = tmp.resolve("bin");
        Files.createDirectories(bin);
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/usr/bin/env bash\necho \"LC_ALL=$LC_ALL\"\nprintf '%s\\n' \"$@\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        ProcessBuilder pb = new ProcessBuilder("bash", root.resolve("align4j").toString(), "generate", "--prompt",
                "caf\u00e9").redirectErrorStream(true);
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().put("LANG", "C");
        pb.environment().put("LC_ALL", "C");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        boolean hasUtf8Locale = new String(new ProcessBuilder("locale", "-a").start().getInputStream().readAllBytes(),
                StandardCharsets.UTF_8).toLowerCase().matches("(?s).*\\bc\\.utf-?8\\b.*");
        if (hasUtf8Locale) {
            assertTrue(out.contains("LC_ALL=C.UTF-8"), out);
        }
        assertTrue(out.contains("-Dfile.encoding=UTF-8") && out.contains("-Dsun.stdout.encoding=UTF-8"), out);
        assertTrue(out.contains("caf\u00e9"), "the argument passes through unchanged: " + out);
        assertTrue(out.contains("--add-modules\njdk.incubator.vector\n"), "the Vector API for batched decoding: " + out);
    }

    @Test
    void sparkFlagsOnlyWhenSparkIsAskedFor() throws Exception {
        Path launcher = Path.of("..", "align4j").toAbsolutePath().normalize();
        Path root = tmp.resolve("repo2");
        Files.createDirectories(root.resolve("cli/target"));
        Files.copy(launcher, root.resolve("align4j"));
        Files.writeString(root.resolve("cli/target/align4j.jar"), "");
        Files.writeString(root.resolve("cli/target/.build-opts"), "");
        Path bin = tmp.resolve("bin2");
        Files.createDirectories(bin);
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        String plain = launch(root, bin, null, "generate", "--prompt", "x");
        assertTrue(!plain.contains("--add-opens"), plain);
        String option = launch(root, bin, null, "generate", "--prompt", "x", "--spark-master", "local[2]");
        assertTrue(option.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"), option);
        assertTrue(option.indexOf("--add-opens") < option.indexOf("-jar"), "JVM flags before -jar: " + option);
        String env = launch(root, bin, "local[2]", "generate", "--prompt", "x");
        assertTrue(env.contains("--add-opens=java.base/java.nio=ALL-UNNAMED"), env);
    }

    private static String launch(Path root, Path bin, String sparkMaster, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", root.resolve("align4j").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().remove("ALIGN4J_SPARK_MASTER");
        if (sparkMaster != null) {
            pb.environment().put("ALIGN4J_SPARK_MASTER", sparkMaster);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }
}
