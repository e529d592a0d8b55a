package org.align4j.core.output;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.align4j.core.util.UserInputException;

/**
 * One writer at a time for a run directory, a labeling store or a pipeline directory: an OS lock
 * on a lock file, held for as long as the writer runs, with the holder's PID written in the file
 * for the message a second writer gets. The operating system drops the lock when its process
 * dies, however it dies, so a lock file left by a killed process never blocks a resume; only a
 * lock that is actually held refuses. The file itself is left in place: deleting it would let a
 * third process lock a new file while a second still holds the old one.
 */
public final class WriterLock implements AutoCloseable {

    /**
     * Lock files held in this JVM. POSIX locks belong to the process, so a second lock from the same
     * process would be granted (or, worse, closing its channel would drop the first); this set refuses it.
     */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private WriterLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** The lock of a directory: {@code DIR/.lock}; the directory is created if needed. */
    public static WriterLock directory(Path dir, String what) throws IOException {
        Files.createDirectories(dir);
        return acquire(dir.resolve(PathKind.LOCK_FILE), what + " " + dir);
    }

    /**
     * Locks {@code lockFile} for {@code what} (named in the refusal), or throws a user error naming
     * the PID of the process that holds it.
     */
    public static WriterLock acquire(Path lockFile, String what) throws IOException {
        Path key = RealPaths.real(lockFile);
        if (!HELD.add(key)) {
            throw inUse(what, pid());
        }
        FileChannel ch = null;
        try {
            Files.createDirectories(key.getParent());
            ch = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock = ch.tryLock();
            if (lock == null) {
                throw inUse(what, holder(ch));
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            ch.force(false);
            return new WriterLock(key, ch, lock);
        } catch (IOException | RuntimeException e) {
            if (ch != null) {
                ch.close();
            }
            HELD.remove(key);
            throw e;
        }
    }

    private static UserInputException inUse(String what, String holder) {
        return new UserInputException(what + " is in use by another align4j writer (PID " + holder
                + "); wait for it to finish or stop it, then run again");
    }

    /** The PID the holder wrote, or "unknown" in the moment before it has written it. */
    private static String holder(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(32);
        ch.read(b, 0);
        String s = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
        return s.matches("\\d+") ? s : "unknown";
    }

    private static String pid() {
        return String.valueOf(ProcessHandle.current().pid());
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
            channel.close();
        } finally {
            HELD.remove(file);
        }
    }
}
