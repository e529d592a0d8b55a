package org.align4j.data.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.chat.ChatMessage;
import org.align4j.core.util.Json;
import org.align4j.data.prepare.UnpairedRecords;
import org.align4j.data.validate.ValidationReport;
import org.align4j.data.validate.Validator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TRL's unpaired preference format (KTO): text and conversational records, detection beside
 * prompt-completion records, every problem with its line and field, the canonical JSON, and
 * pairs and rankings unpaired (chosen / top up, rejected / bottom down).
 */
class UnpairedFormatTest {

    @TempDir
    Path tmp;

    static RecordParser.Result parse(String json) throws Exception {
        JsonNode o = Json.MAPPER.readTree(json);
        assertEquals(RecordKind.UNPAIRED, RecordParser.detect(o), json);
        return RecordParser.parse(o, RecordKind.UNPAIRED);
    }

    @Test
    void textAndConversationalRecords() throws Exception {
        DataRecord.Unpaired t = (DataRecord.Unpaired) parse("{\"prompt\": \"The sky is\", \"completion\": \" blue.\","
                + " \"label\": true}").record();
        assertEquals(new DataRecord.Unpaired(new Content.Text("The sky is"), new Content.Text(" blue."), true), t);
        DataRecord.Unpaired c = (DataRecord.Unpaired) parse("{\"prompt\": [{\"role\": \"user\", \"content\":"
                + " \"What color is the sky?\"}], \"completion\": [{\"role\": \"assistant\", \"content\": \"It is"
                + " green.\"}], \"label\": false}").record();
        assertEquals(new Content.Messages(List.of(new ChatMessage("user", "What color is the sky?", null))),
                c.prompt());
        assertEquals(new Content.Messages(List.of(new ChatMessage("assistant", "It is green.", null))),
                c.completion());
        assertFalse(c.label());
        // the canonical JSON reads back to the same record
        assertEquals(c, RecordParser.parse(RecordJson.toJson(c), RecordKind.UNPAIRED).record());
        assertEquals(t, RecordParser.parse(RecordJson.toJson(t), RecordKind.UNPAIRED).record());
        // without a label it is a prompt-completion record
        assertEquals(RecordKind.COMPLETION, RecordParser.detect(Json.MAPPER.readTree("{\"prompt\": \"a\","
                + " \"completion\": \"b\"}")));
    }

    @Test
    void problemsNameTheirFieldAndLine() throws Exception {
        Path f = tmp.resolve("thumbs.jsonl");
        Files.writeString(f, String.join("\n",
                "{\"prompt\": \"a\", \"completion\": \" b\", \"label\": true}",                 // 1 fine
                "{\"prompt\": \"a\", \"completion\": \" b\", \"label\": \"yes\"}",              // 2 label a string
                "{\"prompt\": \"a\", \"completion\": \" b\"}",                                  // 3 no label
                "{\"prompt\": \"a\", \"completion\": \"\", \"label\": false}",                  // 4 empty completion
                "{\"completion\": \" b\", \"label\": false}",                                   // 5 no prompt
                "{\"prompt\": \"a\", \"completion\": \" b\", \"label\": 1, \"score\": 3}",      // 6 label 1, extra key
                "{\"prompt\": [{\"role\": \"user\", \"content\": \"a\"}], \"completion\": [{\"role\": \"user\","
                        + " \"content\": \"b\"}], \"label\": true}",                              // 7 user completion
                "{\"prompt\": \"a\", \"completion\": 7, \"label\": true}")                     // 8 completion a number
                + "\n");
        List<Problem> problems = new ArrayList<>();
        ValidationReport r = new Validator(null, 0, null, problems::add).validate(List.of(f));
        assertEquals(1, r.validRecords(), problems.toString());
        String all = problems.stream().map(Problem::toString).reduce("", (a, b) -> a + b + "\n");
        assertTrue(all.contains(f + ":2: wrong_type: field 'label' must be true or false, got a string \"yes\""), all);
        assertTrue(all.contains(f + ":3: missing_field: missing field 'label'"), all);
        assertTrue(all.contains(f + ":4: empty_completion: field 'completion' is empty"), all);
        assertTrue(all.contains(f + ":5: missing_field: missing field 'prompt'"), all);
        assertTrue(all.contains(f + ":6: wrong_type: field 'label' must be true or false, got a number 1"), all);
        assertTrue(all.contains(f + ":6: unrecognized_key: unrecognized key 'score'"), all);
        assertTrue(all.contains(f + ":7: wrong_type: 'completion' after the prompt must be assistant messages"), all);
        assertTrue(all.contains(f + ":8: wrong_type: field 'completion' must be a string, got a number"), all);
        // training reads refuse the file with the same lines
        DataException e = assertThrows(DataException.class, () -> Dataset.read(f, null, false,
                Set.of(RecordKind.UNPAIRED)));
        assertEquals(7, e.problems().stream().map(Problem::line).distinct().count());
    }

    @Test
    void pairsAndRankingsUnpairTopUpBottomDown() throws Exception {
        Path f = tmp.resolve("mixed.jsonl");
        Files.writeString(f, "{\"prompt\": \"p\", \"responses\": [\"a\", \"b\", \"c\", \"d\"], \"ranking\": [[2], [0],"
                + " [1, 3]]}\n{\"prompt\": \"q\", \"responses\": [\"x\", \"y\"], \"ranking\": [[0, 1]]}\n");
        UnpairedRecords.Result r = UnpairedRecords.read(f);
        assertEquals(1, r.allTied());
        assertEquals(List.of(new DataRecord.Unpaired(new Content.Text("p"), new Content.Text("c"), true),
                new DataRecord.Unpaired(new Content.Text("p"), new Content.Text("b"), false),
                new DataRecord.Unpaired(new Content.Text("p"), new Content.Text("d"), false)), r.records());
        Path pairs = tmp.resolve("pairs.jsonl");
        Files.writeString(pairs, "{\"prompt\": \"p\", \"chosen\": \" good\", \"rejected\": \" bad\"}\n");
        assertEquals(List.of(new DataRecord.Unpaired(new Content.Text("p"), new Content.Text(" good"), true),
                new DataRecord.Unpaired(new Content.Text("p"), new Content.Text(" bad"), false)),
                UnpairedRecords.read(pairs).records());
    }
}
