package org.align4j.serve.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.align4j.core.util.Json;
import org.align4j.serve.ApiError;
import org.align4j.serve.files.Ids;
import org.junit.jupiter.api.Test;

/** The "auto" rules by hand, request parsing's params, and the id shapes that keep ids out of paths. */
class HyperparametersTest {

    @Test
    void autoFollowsTheDocumentedRules() {
        Hyperparameters.Resolved a = Hyperparameters.resolve(Hyperparameters.Requested.AUTO,
                JobRequest.Method.SUPERVISED, 8);
        assertEquals(12, a.nEpochs(), "100 / 8 examples, rounded down");
        assertEquals(8, a.batchSize());
        assertEquals(1.0, a.learningRateMultiplier());
        assertNull(a.beta());
        Hyperparameters.Resolved few = Hyperparameters.resolve(Hyperparameters.Requested.AUTO, JobRequest.Method.DPO, 3);
        assertEquals(25, few.nEpochs(), "100 / 3 = 33, capped at 25");
        assertEquals(3, few.batchSize(), "no larger than the file");
        assertEquals(0.1, few.beta());
        assertEquals(3, Hyperparameters.resolve(Hyperparameters.Requested.AUTO, JobRequest.Method.SUPERVISED, 1000)
                .nEpochs(), "3 x 1000 is between 100 and 25,000");
        assertEquals(2, Hyperparameters.resolve(Hyperparameters.Requested.AUTO, JobRequest.Method.SUPERVISED, 10_000)
                .nEpochs(), "3 x 10,000 is over 25,000: 25,000 / 10,000, rounded down");
        Hyperparameters.Resolved given = Hyperparameters.resolve(new Hyperparameters.Requested(4, 2, 0.5, 0.3),
                JobRequest.Method.DPO, 100);
        assertEquals(new Hyperparameters.Resolved(4, 2, 0.5, 0.3), given);
    }

    @Test
    void requestFieldsAreCheckedWithTheirParams() throws Exception {
        JobRequest r = JobRequest.parse(Json.MAPPER.readTree("{\"model\": \"m\", \"training_file\": \"file-x\","
                + " \"method\": {\"type\": \"dpo\", \"dpo\": {\"hyperparameters\": {\"beta\": \"auto\", \"n_epochs\": 2,"
                + " \"align4j\": {\"loss\": \"ipo\"}}}}}"));
        assertEquals(JobRequest.Method.DPO, r.method());
        assertEquals(2, r.hyperparameters().nEpochs());
        assertNull(r.hyperparameters().beta());
        assertEquals("method.dpo.hyperparameters.align4j", r.extensionParam());
        assertEquals("ipo", r.align4j().get("loss").asText());
        String[][] bad = {
                {"{\"training_file\": \"f\"}", "model"},
                {"{\"model\": \"m\", \"training_file\": \"f\", \"method\": {\"type\": \"dpo\", \"dpo\": {\"hyperparameters\":"
                        + " {\"beta\": -1}}}}", "method.dpo.hyperparameters.beta"},
                {"{\"model\": \"m\", \"training_file\": \"f\", \"method\": {\"type\": \"supervised\", \"supervised\":"
                        + " {\"hyperparameters\": {\"beta\": 1}}}}", "method.supervised.hyperparameters.beta"},
                {"{\"model\": \"m\", \"training_file\": \"f\", \"hyperparameters\": {\"batch_size\": 1.5}}",
                        "hyperparameters.batch_size"},
                {"{\"model\": \"m\", \"training_file\": \"f\", \"method\": {\"type\": \"rl\"}}", "method.type"},
                {"{\"model\": \"m\", \"training_file\": \"f\", \"method\": {\"type\": \"reinforcement\"}}",
                        "method.reinforcement.grader"},
                {"{\"model\": \"m\", \"training_file\": \"f\", \"metadata\": {\"k\": 1}}", "metadata.k"},
                {"{\"model\": \"m\", \"training_file\": \"f\", \"colour\": 1}", "colour"},
        };
        for (String[] b : bad) {
            ApiError e = assertThrows(ApiError.class, () -> JobRequest.parse(Json.MAPPER.readTree(b[0])), b[0]);
            assertEquals(400, e.status());
            assertEquals(b[1], e.param(), b[0]);
        }
    }

    @Test
    void idsHaveOneShapeAndNothingElsePasses() {
        String id = Ids.next(Ids.JOB);
        assertTrue(Ids.valid(Ids.JOB, id));
        assertFalse(Ids.valid(Ids.FILE, id));
        assertFalse(Ids.valid(Ids.FILE, "file-../../etc/passwd"));
        assertFalse(Ids.valid(Ids.FILE, "file-AAAAAAAAAAAAAAAAAAAAAAA/"));
        assertEquals(404, assertThrows(ApiError.class, () -> Ids.require(Ids.FILE, "../x", "file_id", "file")).status());
    }
}
