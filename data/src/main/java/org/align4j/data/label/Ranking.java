package org.align4j.data.label;

import org.align4j.core.util.UserInputException;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

/**
 * A ranking of K responses as groups of response indices, best group first; responses in one
 * group are tied. Every index appears exactly once.
 */
public record Ranking(List<List<Integer>> groups) {

    /** How two responses compare: the first better, worse, or tied. */
    public enum Relation { BETTER, WORSE, TIED }

    public Ranking {
        groups = groups.stream().map(List::copyOf).toList();
    }

    public int size() {
        return groups.stream().mapToInt(List::size).sum();
    }

    /** Position of each response's group (0 = best). */
    public int[] levels() {
        int[] level = new int[size()];
        for (int g = 0; g < groups.size(); g++) {
            for (int i : groups.get(g)) {
                level[i] = g;
            }
        }
        return level;
    }

    /** Relation of response {@code a} to response {@code b}. */
    public Relation relation(int a, int b) {
        int[] l = levels();
        return l[a] < l[b] ? Relation.BETTER : l[a] > l[b] ? Relation.WORSE : Relation.TIED;
    }

    public boolean hasTies() {
        return groups.stream().anyMatch(g -> g.size() > 1);
    }

    public static Ranking fromJson(JsonNode n, int k) {
        if (n == null || !n.isArray()) {
            throw new UserInputException("a ranking is a list of groups of response indices");
        }
        List<List<Integer>> groups = new ArrayList<>();
        boolean[] seen = new boolean[k];
        for (JsonNode g : n) {
            List<Integer> group = new ArrayList<>();
            for (JsonNode idx : g.isArray() ? g : List.of(g)) {
                int i = idx.asInt(-1);
                if (!idx.isIntegralNumber() || i < 0 || i >= k || seen[i]) {
                    throw new UserInputException("not a permutation of 0.." + (k - 1) + ": " + n);
                }
                seen[i] = true;
                group.add(i);
            }
            groups.add(group);
        }
        for (boolean s : seen) {
            if (!s) {
                throw new UserInputException("not a permutation of 0.." + (k - 1) + ": " + n);
            }
        }
        return new Ranking(groups);
    }

    public ArrayNode toJson() {
        ArrayNode a = new ObjectMapper().createArrayNode();
        for (List<Integer> g : groups) {
            ArrayNode ga = a.addArray();
            g.forEach(ga::add);
        }
        return a;
    }
}
