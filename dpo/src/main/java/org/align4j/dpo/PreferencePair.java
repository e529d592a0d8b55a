package org.align4j.dpo;

import org.align4j.data.batch.Example;

/** A preference pair ready for training: the chosen and rejected sequences (prompt masked) and its source line. */
public record PreferencePair(Example chosen, Example rejected, long line) {

    public int length() {
        return chosen.length() + rejected.length();
    }
}
