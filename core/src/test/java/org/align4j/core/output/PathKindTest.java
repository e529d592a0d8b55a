package org.align4j.core.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.align4j.core.util.UserInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PathKindTest {

    @TempDir
    Path tmp;

    private Path dir(String name, String... files) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        for (String f : files) {
            Files.writeString(d.resolve(f), "{}");
        }
        return d;
    }

    private Path file(String name, String content) throws Exception {
        return Files.writeString(tmp.resolve(name), content);
    }

    @Test
    void eachArtifactIsRecognisedByWhatItHolds() throws Exception {
        assertEquals(PathKind.MISSING, PathKind.of(tmp.resolve("nothing")));
        assertEquals(PathKind.EMPTY_DIRECTORY, PathKind.of(dir("empty", PathKind.LOCK_FILE)), "a lock file alone");
        assertEquals(PathKind.MODEL, PathKind.of(dir("model", "config.json", "model.safetensors")));
        assertEquals(PathKind.ADAPTER, PathKind.of(dir("adapter", "adapter_config.json", "adapter_model.safetensors")));
        Path run = dir("run", "config.json", "events.jsonl");
        assertEquals(PathKind.RUN, PathKind.of(run));
        assertEquals(PathKind.RUN, PathKind.of(dir("cancelled", "CANCEL")), "cancelled before it started");
        assertEquals(PathKind.PIPELINE, PathKind.of(dir("pipe", "pipeline.json", "state.json")));
        assertEquals(PathKind.DIRECTORY, PathKind.of(dir("configs", "pipeline.json")), "a pipeline's config file");
        assertEquals(PathKind.TOKENIZER, PathKind.of(dir("tok", "vocab.json", "merges.txt")));
        assertEquals(PathKind.DIRECTORY, PathKind.of(dir("other", "notes.txt")));
        assertEquals(PathKind.JUDGMENTS, PathKind.of(file("j.jsonl", "{\"type\":\"judgment\",\"id\":\"1\","
                + "\"task_id\":\"t\",\"annotator\":\"a\",\"ranking\":\"A>B\"}\n")));
        assertEquals(PathKind.TASKS, PathKind.of(file("t.jsonl", "{\"id\":\"t\",\"prompt\":\"p\",\"responses\":[\"a\","
                + "\"b\"]}\n")));
        assertEquals(PathKind.DATA, PathKind.of(file("pairs.jsonl", "\n{\"prompt\":\"p\",\"chosen\":\"a\","
                + "\"rejected\":\"b\"}\n")));
        assertEquals(PathKind.EMPTY_FILE, PathKind.of(file("empty.jsonl", "")));
        assertEquals(PathKind.FILE, PathKind.of(file("notes.md", "# notes\n")));
        Files.writeString(run.resolve("metrics.jsonl"), "{\"step\":1,\"loss\":2.0}\n");
        assertEquals(PathKind.METRICS, PathKind.of(run.resolve("metrics.jsonl")));
        assertEquals(PathKind.FILE_OF_RUN, PathKind.of(run.resolve("config.json")));
        Files.write(tmp.resolve("c.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10});
        assertEquals(PathKind.IMAGE, PathKind.of(tmp.resolve("c.png")));
    }

    @Test
    void anOutputNeverReplacesAnInputNorAnotherKindWithoutForce() throws Exception {
        Path model = dir("m", "config.json", "model.safetensors");
        UserInputException e = assertThrows(UserInputException.class,
                () -> OutputCheck.of("--out", model).input("--model", Path.of(model + "/")).check(true));
        assertTrue(e.getMessage().contains("--out " + model + " is this command's --model"), e.getMessage());
        assertEquals(PathKind.DIRECTORY, OutputCheck.of("--out", tmp).input("--model", model).check(true),
                "a directory written file by file may hold an input");
        e = assertThrows(UserInputException.class,
                () -> OutputCheck.of("--out", tmp).asWholeDirectory().input("--model", model).check(true));
        assertTrue(e.getMessage().contains("holds this command's --model"), e.getMessage());
        e = assertThrows(UserInputException.class, () -> OutputCheck.of("--out", model).check(false));
        assertEquals(model + ": is a model directory; --out would replace it. Choose another --out, or pass --force to"
                + " replace it", e.getMessage());
        assertEquals(PathKind.MODEL, OutputCheck.of("--out", model).check(true));
        assertEquals(PathKind.MODEL, OutputCheck.of("--out", model).replaces(PathKind.MODEL).check(false));
        Path pairs = file("pairs.jsonl", "{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\"}\n");
        e = assertThrows(UserInputException.class,
                () -> OutputCheck.of("--out", pairs).checkAppendsTo(PathKind.JUDGMENTS));
        assertTrue(e.getMessage().startsWith(pairs + ": is a JSONL data file, not a judgments store"), e.getMessage());
    }
}
