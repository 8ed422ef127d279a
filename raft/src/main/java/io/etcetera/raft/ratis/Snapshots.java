package io.etcetera.raft.ratis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;

/**
 * The state machine's snapshots in Ratis' {@code sm/} directory: one directory per snapshot,
 * {@code snapshot.<term>_<index>}, holding a RocksDB checkpoint (hard links to the live database's
 * files). Ratis streams a snapshot's files to a follower that fell behind the purged log and
 * replaces the follower's {@code sm/} with them. The two newest are kept: one may be in transit.
 *
 * <p>Threading: changed on the apply thread; {@link #latest} is read by any thread.
 */
final class Snapshots {
  private static final Pattern NAME = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
  private static final int KEEP = 2;

  private Path dir;
  private volatile FileListSnapshotInfo latest;

  void open(Path smDir) {
    this.dir = smDir;
    rescan();
  }

  FileListSnapshotInfo latest() {
    return latest;
  }

  Path directory(FileListSnapshotInfo s) {
    return dir.resolve(name(s.getTermIndex()));
  }

  /** Finds the newest complete snapshot directory (after a start or an install). */
  void rescan() {
    FileListSnapshotInfo best = null;
    if (Files.isDirectory(dir)) {
      for (Path p : list(dir)) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        if (m.matches() && Files.exists(p.resolve("CURRENT"))) {
          TermIndex ti = TermIndex.valueOf(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
          if (best == null || ti.getIndex() > best.getIndex()) {
            best = info(p, ti);
          }
        }
      }
    }
    latest = best;
  }

  /** Writes a new snapshot at {@code at} with {@code writer} (given a directory that does not exist yet). */
  FileListSnapshotInfo take(TermIndex at, Consumer<Path> writer) throws IOException {
    FileListSnapshotInfo current = latest;
    if (current != null && current.getIndex() == at.getIndex()) {
      return current;
    }
    Files.createDirectories(dir);
    Path target = dir.resolve(name(at));
    deleteTree(target);
    Path partial = dir.resolve(name(at) + ".partial");
    deleteTree(partial);
    writer.accept(partial);
    Files.move(partial, target);
    FileListSnapshotInfo taken = info(target, at);
    latest = taken;
    prune();
    return taken;
  }

  private void prune() throws IOException {
    List<Path> mine = new ArrayList<>();
    for (Path p : list(dir)) {
      if (NAME.matcher(p.getFileName().toString()).matches()) {
        mine.add(p);
      }
    }
    mine.sort(Comparator.comparingLong(Snapshots::indexOf).reversed());
    for (int i = KEEP; i < mine.size(); i++) {
      deleteTree(mine.get(i));
    }
  }

  private static long indexOf(Path p) {
    Matcher m = NAME.matcher(p.getFileName().toString());
    return m.matches() ? Long.parseLong(m.group(2)) : -1;
  }

  private static String name(TermIndex ti) {
    return "snapshot." + ti.getTerm() + "_" + ti.getIndex();
  }

  private static FileListSnapshotInfo info(Path snapshotDir, TermIndex ti) {
    List<FileInfo> files = new ArrayList<>();
    for (Path f : list(snapshotDir)) {
      if (Files.isRegularFile(f)) {
        files.add(new FileInfo(f.toAbsolutePath(), null));
      }
    }
    return new FileListSnapshotInfo(files, ti);
  }

  private static List<Path> list(Path d) {
    try (Stream<Path> s = Files.list(d)) {
      return s.sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(x);
      }
    }
  }
}
