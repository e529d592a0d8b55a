package org.align4j.data.prepare;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.RecordKind;

/**
 * Paired feedback as KTO's unpaired records (TRL's {@code unpair_preference_dataset}): a
 * preference pair gives its chosen response as desirable and its rejected one as undesirable; a
 * ranking gives every response of its best group as desirable and every response of its worst
 * group as undesirable, and the middle groups nothing (a "top vs bottom" thumbs up and down). A
 * ranking that ties all its responses gives nothing.
 */
public final class UnpairedRecords {

    private UnpairedRecords() {
    }

    public static List<DataRecord.Unpaired> of(DataRecord.Preference p) {
        return List.of(new DataRecord.Unpaired(p.prompt(), p.chosen(), true),
                new DataRecord.Unpaired(p.prompt(), p.rejected(), false));
    }

    public static List<DataRecord.Unpaired> of(DataRecord.Ranking r) {
        List<DataRecord.Unpaired> out = new ArrayList<>();
        List<List<Integer>> groups = r.ranking();
        if (groups.size() < 2) {
            return out;
        }
        Content prompt = new Content.Text(r.prompt());
        for (int i : groups.get(0)) {
            out.add(new DataRecord.Unpaired(prompt, new Content.Text(r.responses().get(i)), true));
        }
        for (int i : groups.get(groups.size() - 1)) {
            out.add(new DataRecord.Unpaired(prompt, new Content.Text(r.responses().get(i)), false));
        }
        return out;
    }

    /** The records of a file of preference pairs or rankings, and how many rankings tied everything. */
    public record Result(List<DataRecord.Unpaired> records, int allTied) {
    }

    /** Reads preference pairs or rankings (bad records refused with FILE:LINE) and unpairs them. */
    public static Result read(Path file) throws IOException {
        Dataset d = Dataset.read(file, null, false, Set.of(RecordKind.PREFERENCE, RecordKind.RANKING));
        List<DataRecord.Unpaired> out = new ArrayList<>();
        int tied = 0;
        for (DataRecord r : d.records()) {
            List<DataRecord.Unpaired> u = r instanceof DataRecord.Ranking k ? of(k) : of((DataRecord.Preference) r);
            tied += u.isEmpty() ? 1 : 0;
            out.addAll(u);
        }
        return new Result(out, tied);
    }
}
