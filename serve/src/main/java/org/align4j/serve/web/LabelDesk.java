package org.align4j.serve.web;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.output.WriterLock;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.data.label.Agreement;
import org.align4j.data.label.Judgment;
import org.align4j.data.label.JudgmentStore;
import org.align4j.data.label.LabelSession;
import org.align4j.data.label.LabelTask;
import org.align4j.data.label.Ranking;
import org.align4j.serve.ApiError;

/**
 * Labeling in the browser, on the same store as {@code align4j label session}: task sets are the
 * task files {@code DATA_DIR/label/NAME.jsonl} (from {@code label prepare}); judgments go to
 * {@code DATA_DIR/label/NAME.judgments.jsonl} through {@link JudgmentStore} (one JSON line per
 * judgment, fsynced before the call returns). Each annotator of a task set has one session here,
 * which holds the store's {@link WriterLock} for that annotator as a terminal session does, so the
 * same person cannot judge the same tasks twice from two places. Task order and candidate letters
 * are the terminal session's at its default seed, so an annotator may move between the two.
 */
public final class LabelDesk implements AutoCloseable {

    /** The seed of {@code label session}'s default: same task order and letters as the terminal. */
    static final long SEED = 0;
    /** A session nobody has used for this long gives its lock back (the annotator walked away). */
    static final long IDLE_NANOS = 30L * 60 * 1_000_000_000L;

    private static final String JUDGMENTS_SUFFIX = ".judgments.jsonl";

    private final Path dataDir;
    private final Path dir;
    private final Map<Key, Session> sessions = new HashMap<>();
    /** One monitor per store file: file locks belong to the JVM, so appends in one JVM must take turns. */
    private final Map<String, Object> storeMonitors = new ConcurrentHashMap<>();
    private final Map<String, CachedTasks> taskCache = new ConcurrentHashMap<>();

    private record Key(String set, String annotator) {
    }

    private record CachedTasks(long modified, long size, List<LabelTask> tasks) {
    }

    /** One annotator's work on one task set: the lock, the tasks still to judge, when each was shown. */
    private static final class Session {
        final String set;
        final String annotator;
        final JudgmentStore store;
        final WriterLock lock;
        final Map<String, LabelTask> tasks;
        final Deque<LabelTask> pending = new ArrayDeque<>();
        final Set<String> judged = new HashSet<>();
        final Map<String, Long> shownAt = new HashMap<>();
        volatile long lastUsed = System.nanoTime();

        Session(String set, String annotator, JudgmentStore store, WriterLock lock, Map<String, LabelTask> tasks) {
            this.set = set;
            this.annotator = annotator;
            this.store = store;
            this.lock = lock;
            this.tasks = tasks;
        }
    }

    public LabelDesk(Path dataDir) {
        this.dataDir = dataDir;
        this.dir = dataDir.resolve("label");
    }

    public Path dir() {
        return dir;
    }

    // ---- task sets ----

    /** Task sets under the data directory, with who has judged how many tasks of each. */
    public List<ObjectNode> list() throws IOException {
        List<ObjectNode> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        List<String> names = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".jsonl") && !n.endsWith(JUDGMENTS_SUFFIX) && !n.startsWith("."))
                    .map(n -> n.substring(0, n.length() - ".jsonl".length()))
                    .filter(LabelDesk::validName).sorted().forEach(names::add);
        }
        for (String name : names) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("name", name);
            o.put("tasks_file", "label/" + name + ".jsonl");
            o.put("judgments_file", "label/" + name + JUDGMENTS_SUFFIX);
            try {
                List<LabelTask> tasks = tasks(name);
                o.put("tasks", tasks.size());
                o.put("gold_tasks", tasks.stream().filter(t -> t.gold() != null).count());
                ObjectNode per = o.putObject("judged_by");
                perAnnotator(store(name)).forEach(per::put);
            } catch (ApiError e) {
                o.put("error", e.getMessage());
            }
            out.add(o);
        }
        return out;
    }

    private static Map<String, Integer> perAnnotator(JudgmentStore store) throws IOException {
        Map<String, Set<String>> m = new TreeMap<>();
        for (Judgment j : store.read().effective()) {
            m.computeIfAbsent(j.annotator(), a -> new HashSet<>()).add(j.taskId());
        }
        Map<String, Integer> out = new LinkedHashMap<>();
        m.forEach((a, t) -> out.put(a, t.size()));
        return out;
    }

    static boolean validName(String name) {
        return name != null && name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,99}") && !name.contains("..");
    }

    /** The task file of a set a client names: a name, never a path; a 404 when there is none. */
    private Path tasksFile(String name) {
        if (!validName(name)) {
            throw ApiError.invalid("name", "'" + name + "' is not a task set name (letters, digits, '.', '_', '-')");
        }
        Path f = dir.resolve(name + ".jsonl");
        if (!Files.isRegularFile(f)) {
            throw ApiError.notFound("name", "No task set '" + name + "': put a task file from 'align4j label"
                    + " prepare' at label/" + name + ".jsonl under the server's data directory");
        }
        return f;
    }

    JudgmentStore store(String name) {
        return new JudgmentStore(dir.resolve(name + JUDGMENTS_SUFFIX));
    }

    /** The set's tasks, read again only when the file changed; errors name the file relative to the data dir. */
    List<LabelTask> tasks(String name) throws IOException {
        Path f = tasksFile(name);
        long modified = Files.getLastModifiedTime(f).toMillis();
        long size = Files.size(f);
        CachedTasks c = taskCache.get(name);
        if (c != null && c.modified == modified && c.size == size) {
            return c.tasks;
        }
        List<LabelTask> tasks;
        try {
            tasks = List.copyOf(LabelTask.read(f));
        } catch (IOException | UserInputException e) {
            throw ApiError.invalid("name", relative(e.getMessage()));
        }
        taskCache.put(name, new CachedTasks(modified, size, tasks));
        return tasks;
    }

    /** A message with the server's absolute paths shown relative to the data directory. */
    String relative(String message) {
        String abs = dataDir.toAbsolutePath().normalize() + "/";
        return message == null ? "" : message.replace(abs, "").replace(dataDir + "/", "");
    }

    // ---- one annotator's session ----

    private Session session(String set, String annotator) throws IOException {
        if (annotator == null || annotator.isBlank()) {
            throw ApiError.invalid("annotator", "annotator: give your name or id");
        }
        if (annotator.length() > 64 || !annotator.strip().equals(annotator) || annotator.chars().anyMatch(c -> c < 32)) {
            throw ApiError.invalid("annotator", "annotator: at most 64 characters, no leading or trailing spaces");
        }
        List<LabelTask> tasks = tasks(set);
        synchronized (sessions) {
            Session s = sessions.get(new Key(set, annotator));
            if (s != null) {
                s.lastUsed = System.nanoTime();
                return s;
            }
            JudgmentStore store = store(set);
            WriterLock lock;
            try {
                Files.createDirectories(dir);
                lock = store.lock(annotator);
            } catch (UserInputException e) {
                throw ApiError.conflict("annotator", relative(e.getMessage()));
            }
            Map<String, LabelTask> byId = new LinkedHashMap<>();
            tasks.forEach(t -> byId.put(t.id(), t));
            s = new Session(set, annotator, store, lock, byId);
            for (Judgment j : store.read().effective(annotator)) {
                s.judged.add(j.taskId());
            }
            for (LabelTask t : LabelSession.taskOrder(tasks, SEED, annotator)) {
                if (!s.judged.contains(t.id())) {
                    s.pending.add(t);
                }
            }
            sessions.put(new Key(set, annotator), s);
            return s;
        }
    }

    /** The next task for the annotator (candidates in the annotator's display order), and the progress. */
    public ObjectNode next(String set, String annotator) throws IOException {
        Session s = session(set, annotator);
        synchronized (s) {
            return next(s);
        }
    }

    private ObjectNode next(Session s) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        LabelTask t = s.pending.peekFirst();
        o.put("done", t == null);
        if (t != null) {
            s.shownAt.put(t.id(), System.nanoTime());
            ObjectNode task = o.putObject("task");
            task.put("id", t.id());
            task.put("prompt", t.prompt());
            var cands = task.putArray("candidates");
            for (int original : LabelSession.displayOrder(SEED, s.annotator, t)) {
                cands.add(t.responses().get(original));
            }
        } else {
            o.putNull("task");
        }
        o.set("progress", progress(s));
        return o;
    }

    private ObjectNode progress(Session s) {
        ObjectNode p = Json.MAPPER.createObjectNode();
        p.put("judged", s.judged.size());
        p.put("total", s.tasks.size());
        p.put("remaining", s.pending.size());
        return p;
    }

    /**
     * Stores a judgment and answers only once it is on disk. {@code body}: {@code annotator},
     * {@code task_id}, and either {@code ranking} (groups of displayed positions, best first; a
     * group of several is a tie) with optional {@code candidate_flags} (displayed position to a list
     * of unsafe/off_topic) and {@code rationale}, or {@code flag} (all_bad, unsafe, prompt_unclear)
     * for the whole task, as the terminal's {@code f}.
     */
    public ObjectNode submit(String set, JsonNode body) throws IOException {
        Session s = session(set, text(body, "annotator"));
        synchronized (s) {
            String taskId = text(body, "task_id");
            LabelTask t = s.tasks.get(taskId);
            if (t == null) {
                throw ApiError.invalid("task_id", "task_id '" + taskId + "' is not in task set '" + set + "'");
            }
            if (s.judged.contains(taskId)) {
                throw ApiError.conflict("task_id", s.annotator + " has already judged task '" + taskId
                        + "'; undo it first to judge it again");
            }
            List<Integer> display = LabelSession.displayOrder(SEED, s.annotator, t);
            String rationale = body.path("rationale").isTextual() ? body.get("rationale").asText().strip() : "";
            if (rationale.length() > 10_000) {
                throw ApiError.invalid("rationale", "rationale: at most 10000 characters");
            }
            Long shown = s.shownAt.get(taskId);
            double seconds = shown != null ? (System.nanoTime() - shown) / 1e9
                    : Math.max(0, body.path("seconds").asDouble(0));
            Judgment j;
            JsonNode flag = body.get("flag");
            if (flag != null && !flag.isNull()) {
                String reason = flag.asText();
                if (!List.of("all_bad", "unsafe", "prompt_unclear").contains(reason)) {
                    throw ApiError.invalid("flag", "flag: one of all_bad, unsafe, prompt_unclear");
                }
                if (body.has("ranking")) {
                    throw ApiError.invalid("ranking", "a flagged task is not ranked: give flag or ranking, not both");
                }
                synchronized (monitor(s)) {
                    j = s.store.append(taskId, s.annotator, null, List.of(reason), rationale, seconds, display);
                }
            } else {
                Ranking displayed = displayedRanking(body.get("ranking"), t.k());
                Map<Integer, List<String>> flags = candidateFlags(body.get("candidate_flags"), display);
                Ranking original = toOriginal(displayed, display);
                synchronized (monitor(s)) {
                    j = s.store.append(taskId, s.annotator, original, List.of(), rationale, seconds, display, flags);
                }
            }
            s.judged.add(taskId);
            s.pending.removeIf(p -> p.id().equals(taskId));
            s.shownAt.remove(taskId);
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.set("judgment", j.toJson());
            o.set("progress", progress(s));
            return o;
        }
    }

    private Object monitor(Session s) {
        return storeMonitors.computeIfAbsent(s.store.file().toAbsolutePath().normalize().toString(), k -> new Object());
    }

    private static Ranking displayedRanking(JsonNode ranking, int k) {
        if (ranking == null || !ranking.isArray() || ranking.isEmpty()) {
            throw ApiError.invalid("ranking", "ranking: a list of groups of displayed positions 0.." + (k - 1)
                    + ", best first, e.g. [[1], [0, 2]] for B > A = C");
        }
        try {
            return Ranking.fromJson(ranking, k);
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid("ranking", "ranking: " + e.getMessage());
        }
    }

    static Ranking toOriginal(Ranking displayed, List<Integer> display) {
        List<List<Integer>> groups = new ArrayList<>();
        for (List<Integer> g : displayed.groups()) {
            groups.add(g.stream().map(display::get).toList());
        }
        return new Ranking(groups);
    }

    private static Map<Integer, List<String>> candidateFlags(JsonNode node, List<Integer> display) {
        Map<Integer, List<String>> out = new TreeMap<>();
        if (node == null || node.isNull()) {
            return out;
        }
        if (!node.isObject()) {
            throw ApiError.invalid("candidate_flags", "candidate_flags: an object from displayed position to flags,"
                    + " e.g. {\"2\": [\"unsafe\"]}");
        }
        var it = node.fields();
        while (it.hasNext()) {
            var e = it.next();
            int pos;
            try {
                pos = Integer.parseInt(e.getKey());
            } catch (NumberFormatException bad) {
                pos = -1;
            }
            if (pos < 0 || pos >= display.size()) {
                throw ApiError.invalid("candidate_flags", "candidate_flags: '" + e.getKey()
                        + "' is not a displayed position 0.." + (display.size() - 1));
            }
            List<String> flags = new ArrayList<>();
            for (JsonNode f : e.getValue().isArray() ? e.getValue() : List.of(e.getValue())) {
                if (!Judgment.CANDIDATE_FLAGS.contains(f.asText())) {
                    throw ApiError.invalid("candidate_flags", "candidate_flags: '" + f.asText() + "' is not one of "
                            + Judgment.CANDIDATE_FLAGS);
                }
                if (!flags.contains(f.asText())) {
                    flags.add(f.asText());
                }
            }
            if (!flags.isEmpty()) {
                out.put(display.get(pos), List.copyOf(flags));
            }
        }
        return out;
    }

    /** Puts a task at the end of the annotator's queue. */
    public ObjectNode skip(String set, JsonNode body) throws IOException {
        Session s = session(set, text(body, "annotator"));
        synchronized (s) {
            String taskId = text(body, "task_id");
            LabelTask t = s.tasks.get(taskId);
            if (t == null || !s.pending.remove(t)) {
                throw ApiError.invalid("task_id", "task_id '" + taskId + "' is not waiting for " + s.annotator);
            }
            s.pending.addLast(t);
            return next(s);
        }
    }

    /** Retracts the annotator's latest judgment of this set (a retraction line, nothing rewritten). */
    public ObjectNode undo(String set, JsonNode body) throws IOException {
        Session s = session(set, text(body, "annotator"));
        synchronized (s) {
            List<Judgment> mine = s.store.read().effective(s.annotator);
            if (mine.isEmpty()) {
                throw ApiError.conflict("annotator", s.annotator + " has no judgment to undo in '" + set + "'");
            }
            Judgment last = mine.get(mine.size() - 1);
            synchronized (monitor(s)) {
                s.store.retract(last);
            }
            s.judged.remove(last.taskId());
            LabelTask t = s.tasks.get(last.taskId());
            if (t != null) {
                s.pending.remove(t);
                s.pending.addFirst(t);
            }
            ObjectNode o = next(s);
            o.put("retracted", last.id());
            return o;
        }
    }

    /** Ends the annotator's session: the store's lock for this annotator is given back. */
    public ObjectNode release(String set, JsonNode body) throws IOException {
        String annotator = text(body, "annotator");
        Session s;
        synchronized (sessions) {
            s = sessions.remove(new Key(set, annotator));
        }
        if (s != null) {
            synchronized (s) {
                s.lock.close();
            }
        }
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("released", s != null);
        return o;
    }

    /** Agreement between the set's annotators and accuracy on its gold tasks, as {@code label agreement --json}. */
    public ObjectNode agreement(String set) throws IOException {
        List<LabelTask> tasks = tasks(set);
        Map<String, LabelTask> byId = new LinkedHashMap<>();
        tasks.forEach(t -> byId.put(t.id(), t));
        JudgmentStore.Contents c = store(set).read();
        try {
            c.checkAgainst(byId, Path.of("label", set + ".jsonl"));
        } catch (UserInputException e) {
            throw ApiError.invalid("name", relative(e.getMessage()));
        }
        ObjectNode o = Agreement.toJson(Agreement.compute(c.effective(), byId));
        ObjectNode per = o.putObject("judged_by");
        perAnnotator(store(set)).forEach(per::put);
        return o;
    }

    private static String text(JsonNode body, String field) {
        JsonNode v = body == null ? null : body.get(field);
        if (v == null || !(v.isTextual() || v.isNumber()) || v.asText().isBlank()) {
            throw ApiError.invalid(field, "missing field '" + field + "'");
        }
        return v.asText();
    }

    /** Gives back the locks of sessions idle for longer than {@link #IDLE_NANOS}. */
    void releaseIdle(long now) {
        List<Session> idle = new ArrayList<>();
        synchronized (sessions) {
            sessions.values().removeIf(s -> {
                boolean old = now - s.lastUsed > IDLE_NANOS;
                if (old) {
                    idle.add(s);
                }
                return old;
            });
        }
        for (Session s : idle) {
            closeQuietly(s);
        }
    }

    private static void closeQuietly(Session s) {
        synchronized (s) {
            try {
                s.lock.close();
            } catch (IOException e) {
                // the lock file is gone with the process anyway
            }
        }
    }

    @Override
    public void close() {
        List<Session> all;
        synchronized (sessions) {
            all = new ArrayList<>(sessions.values());
            sessions.clear();
        }
        all.forEach(LabelDesk::closeQuietly);
    }
}
