package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.util.UserInputException;

/** Hugging Face configs of the three shapes people align today, read key by key; what we cannot apply is refused. */
class LlamaConfigTest {

    @TempDir
    Path tmp;

    private LlamaConfig read(String json) throws Exception {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, json);
        return LlamaConfig.read(f);
    }

    @Test
    void smolLm2Qwen25AndLlama32() throws Exception {
        LlamaConfig smol = read("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 49152,
                 "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
                 "num_attention_heads": 9, "num_key_value_heads": 3, "rms_norm_eps": 1e-5, "rope_theta": 100000,
                 "max_position_embeddings": 8192, "tie_word_embeddings": true, "bos_token_id": 1,
                 "eos_token_id": 2, "rope_scaling": null, "attention_bias": false}""");
        assertEquals(64, smol.headSize());
        assertEquals(3, smol.groupSize());
        assertTrue(smol.tieWordEmbeddings());
        assertFalse(smol.qkvBias());
        assertEquals(List.of(2), smol.eosTokenIds());
        assertNull(smol.ropeScaling());

        LlamaConfig qwen = read("""
                {"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
                 "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
                 "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "max_position_embeddings": 32768,
                 "tie_word_embeddings": true, "bos_token_id": 151643, "eos_token_id": 151643}""");
        assertTrue(qwen.qkvBias(), "Qwen2 always has q/k/v biases");
        assertEquals(7, qwen.groupSize());
        assertEquals(1e6, qwen.ropeTheta());

        LlamaConfig llama = read("""
                {"model_type": "llama", "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 8192,
                 "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8,
                 "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "max_position_embeddings": 131072,
                 "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                  "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                 "tie_word_embeddings": true, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]}""");
        assertEquals(List.of(128001, 128008, 128009), llama.eosTokenIds());
        assertEquals(32.0, llama.ropeScaling().factor());
        assertEquals(8192, llama.ropeScaling().originalMaxPositions());
        assertEquals(4, llama.groupSize());
        // Llama 3's scaling by hand: i = 16 has base 500000^-0.5 = 1/707.107, wavelength 2 pi 707.107 = 4442.9
        // between 8192/4 and 8192/1, so smooth = (8192/4442.9 - 1)/3 = 0.28128 and the frequency is
        // base ((1 - 0.28128)/32 + 0.28128); i = 0 (wavelength 2 pi) keeps 1; i = 31 (wavelength 2.1e6) is base/32
        double[] f = llama.inverseFrequencies();
        assertEquals(32, f.length);
        assertEquals(1.0, f[0], 1e-12);
        assertEquals(4.2955679655936815e-4, f[16], 1e-12);
        assertEquals(Math.pow(500000.0, -62.0 / 64) / 32, f[31], 1e-15);
    }

    @Test
    void whatCannotBeAppliedIsRefused() {
        UserInputException yarn = assertThrows(UserInputException.class, () -> read("""
                {"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
                 "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 16,
                 "rope_scaling": {"type": "yarn", "factor": 4.0}}"""));
        assertTrue(yarn.getMessage().contains("rope_scaling of type 'yarn' is not supported"), yarn.getMessage());
        UserInputException window = assertThrows(UserInputException.class, () -> read("""
                {"model_type": "qwen2", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
                 "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 16,
                 "use_sliding_window": true, "sliding_window": 4}"""));
        assertTrue(window.getMessage().contains("use_sliding_window"), window.getMessage());
        UserInputException gpt2 = assertThrows(UserInputException.class, () -> read("{\"model_type\": \"gpt2\"}"));
        assertTrue(gpt2.getMessage().contains("not a Llama-family model"), gpt2.getMessage());
        UserInputException kv = assertThrows(UserInputException.class, () -> read("""
                {"model_type": "llama", "vocab_size": 10, "hidden_size": 12, "intermediate_size": 16,
                 "num_hidden_layers": 1, "num_attention_heads": 3, "num_key_value_heads": 2,
                 "max_position_embeddings": 16}"""));
        assertTrue(kv.getMessage().contains("must be divisible by num_key_value_heads"), kv.getMessage());
        UserInputException missing = assertThrows(UserInputException.class, () -> read("""
                {"model_type": "llama", "vocab_size": 10, "intermediate_size": 16}"""));
        assertTrue(missing.getMessage().contains("'hidden_size' (a whole number) is missing"), missing.getMessage());
    }
    @Test
    void anIncompleteOrNonNumericRopeScalingIsRefusedNamingFileAndKey() throws Exception {
        String shape = """
                {"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
                 "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 16,
                 "rope_scaling": %s}""";
        String file = tmp.resolve("config.json").toString();
        // each of these used to read the missing or textual field as 0: scaling silently off, and written back so
        String[][] cases = {
            {"{\"rope_type\": \"llama3\", \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
                    + " \"original_max_position_embeddings\": 8}", "rope_scaling.factor must be a number, got nothing"},
            {"{\"rope_type\": \"llama3\", \"factor\": \"8\", \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
                    + " \"original_max_position_embeddings\": 8}", "rope_scaling.factor must be a number, got \"8\""},
            {"{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0}",
                    "rope_scaling.original_max_position_embeddings must be a positive whole number, got nothing"},
            {"{\"rope_type\": \"llama3\", \"factor\": 8.0, \"high_freq_factor\": 4.0,"
                    + " \"original_max_position_embeddings\": 8}", "rope_scaling.low_freq_factor must be a number"},
            {"{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0, \"high_freq_factor\": 4.0,"
                    + " \"original_max_position_embeddings\": 8}", "0 < low_freq_factor < high_freq_factor"},
        };
        for (String[] c : cases) {
            UserInputException e = assertThrows(UserInputException.class, () -> read(shape.formatted(c[0])), c[0]);
            assertTrue(e.getMessage().startsWith(file + ": rope_scaling") && e.getMessage().contains(c[1]), e.getMessage());
        }
        LlamaConfig whole = read(shape.formatted("{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\":"
                + " 1, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8}"));
        assertEquals(new LlamaConfig.RopeScaling(8.0, 1.0, 4.0, 8), whole.ropeScaling());
    }

    @Test
    void architecturesOfAnotherFamilyAreRefused() throws Exception {
        UserInputException e = assertThrows(UserInputException.class, () -> read("""
                {"model_type": "llama", "architectures": ["MistralForCausalLM"], "vocab_size": 10, "hidden_size": 8,
                 "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                 "max_position_embeddings": 16}"""));
        assertTrue(e.getMessage().startsWith(tmp.resolve("config.json") + ": architectures names \"MistralForCausalLM\""),
                e.getMessage());
    }
}
