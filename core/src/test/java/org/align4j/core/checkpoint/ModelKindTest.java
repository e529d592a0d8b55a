package org.align4j.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.GptConfig;
import org.align4j.core.model.GptModel;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A model directory is loaded as what it is: a reward model is refused where a causal LM is
 * expected (its head would be dropped silently), and a config whose model_type or architectures
 * do not describe the weights is refused naming the file and the key instead of being read as GPT-2.
 */
class ModelKindTest {

    @TempDir
    Path tmp;

    private Path causalLm() throws IOException {
        Path dir = tmp.resolve("lm");
        ModelDirectory.save(new GptModel(GptConfig.of(40, 12, 16, 2, 2), new GenericKernels(), DataType.FLOAT)
                .initialize(9), dir);
        return dir;
    }

    @Test
    void aRewardModelIsRefusedWhereACausalLmIsExpected() throws IOException {
        Path lm = causalLm();
        // reward's from-SFT start: a causal LM loads with a head at zero
        DecoderModel withHead = ModelDirectory.load(lm, new GenericKernels(), DataType.FLOAT, true);
        assertEquals(0.0, withHead.parameters().get(DecoderModel.SCORE_HEAD).sumNumber().doubleValue());
        Path rm = tmp.resolve("rm");
        ModelDirectory.save(withHead, rm);
        UserInputException e = assertThrows(UserInputException.class,
                () -> ModelDirectory.load(rm, new GenericKernels(), DataType.FLOAT));
        assertEquals(rm + " is a reward model (GPT2ForSequenceClassification); a policy must be a causal LM",
                e.getMessage());
        // the head in the weights is enough, whatever the config says
        ObjectNode cfg = Json.readObjectFile(rm.resolve("config.json"));
        cfg.remove("architectures");
        Files.writeString(rm.resolve("config.json"), cfg.toString());
        UserInputException weights = assertThrows(UserInputException.class,
                () -> ModelDirectory.load(rm, new GenericKernels(), DataType.FLOAT));
        assertEquals(rm + " is a reward model (its weights hold score.weight); a policy must be a causal LM",
                weights.getMessage());
        assertTrue(ModelDirectory.load(rm, new GenericKernels(), DataType.FLOAT, true).hasScoreHead());
    }

    @Test
    void aModelTypeOrArchitectureThatIsNotTheWeightsIsRefusedNamingFileAndKey() throws IOException {
        Path lm = causalLm();
        Path config = lm.resolve("config.json");
        ObjectNode original = Json.readObjectFile(config);
        float[] weights = ModelDirectory.load(lm, new GenericKernels(), DataType.FLOAT).parameters().flat()
                .toFloatVector();

        Files.writeString(config, original.deepCopy().put("model_type", "mistral").toString());
        UserInputException mistral = assertThrows(UserInputException.class,
                () -> ModelDirectory.load(lm, new GenericKernels(), DataType.FLOAT));
        assertTrue(mistral.getMessage().startsWith(config + ": model_type 'mistral' is not supported (gpt2, llama,"
                + " qwen2)"), mistral.getMessage());

        ObjectNode arch = original.deepCopy();
        arch.putArray("architectures").add("MistralForCausalLM");
        Files.writeString(config, arch.toString());
        UserInputException a = assertThrows(UserInputException.class,
                () -> ModelDirectory.load(lm, new GenericKernels(), DataType.FLOAT));
        assertTrue(a.getMessage().startsWith(config + ": architectures names \"MistralForCausalLM\", which is not a"
                + " gpt2 model"), a.getMessage());

        Files.writeString(config, original.deepCopy().put("model_type", 2).toString());
        UserInputException number = assertThrows(UserInputException.class,
                () -> ModelDirectory.load(lm, new GenericKernels(), DataType.FLOAT));
        assertTrue(number.getMessage().startsWith(config + ": model_type must be a string"), number.getMessage());

        // GPT-2's own configs, with or without model_type, load as before
        Files.writeString(config, original.toString());
        assertArrayEquals(weights, ModelDirectory.load(lm, new GenericKernels(), DataType.FLOAT).parameters().flat()
                .toFloatVector());
        ObjectNode bare = original.deepCopy();
        bare.remove("model_type");
        bare.remove("architectures");
        Files.writeString(config, bare.toString());
        assertArrayEquals(weights, ModelDirectory.load(lm, new GenericKernels(), DataType.FLOAT).parameters().flat()
                .toFloatVector());
    }
}
