package io.etcetera.server;

import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.membership.MemberTable;
import io.etcetera.server.snapshot.SnapshotFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code etcetera snapshot restore|status FILE}: the offline side of {@code etcdctl snapshot save}
 * against an Etcetera member. {@code restore} makes a new data dir holding the snapshot's keyspace
 * (keys with their revisions, leases, users and roles, alarms) without its membership and applied
 * index, so that members started on such data dirs with {@code --initial-cluster-state new} form a
 * new cluster around that keyspace, as etcd's restore does; etcdctl's flags are accepted.
 */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
    description = "Restore or inspect a snapshot taken with 'etcdctl snapshot save' from an Etcetera member.",
    subcommands = {SnapshotCommand.Restore.class, SnapshotCommand.Status.class})
final class SnapshotCommand {

  static int run(String[] args) {
    return new CommandLine(new SnapshotCommand()).execute(args);
  }

  @Command(name = "restore", mixinStandardHelpOptions = true,
      description = "Restore a snapshot into a new data dir; then start the members with --initial-cluster-state new.")
  static final class Restore implements Callable<Integer> {
    @Parameters(index = "0", description = "The snapshot file.")
    Path file;

    @Option(names = "--data-dir", description = "The new data dir (default: NAME.etcd).")
    Path dataDir;

    @Option(names = "--name", defaultValue = "default", description = "The member's name (default: ${DEFAULT-VALUE}).")
    String name;

    @Option(names = "--skip-hash-check", description = "Ignore the snapshot's SHA-256.")
    boolean skipHashCheck;

    @Option(names = "--initial-cluster", description = "Accepted as etcdctl takes it; the cluster comes from the start flags.")
    String initialCluster;

    @Option(names = "--initial-cluster-token", description = "Accepted as etcdctl takes it; the cluster comes from the start flags.")
    String initialClusterToken;

    @Option(names = "--initial-advertise-peer-urls", description = "Accepted as etcdctl takes it; the cluster comes from the start flags.")
    String initialAdvertisePeerUrls;

    @Override
    public Integer call() throws Exception {
      Path dir = dataDir != null ? dataDir : Path.of(name + ".etcd");
      if (Files.exists(dir)) {
        System.err.println("Error: data-dir \"" + dir + "\" exists");
        return 1;
      }
      Path member = dir.resolve("member");
      try {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (java.io.IOException e) {
        System.err.println("Error: cannot create data-dir \"" + dir + "\": " + e.getMessage());
        return 1;
      }
      try {
        Files.createDirectories(member);
        SnapshotFile.unpack(file, member.resolve("kv"), skipHashCheck);
        long revision;
        try (Backend backend = Backend.open(member.resolve("kv")); MvccStore store = MvccStore.open(backend)) {
          MemberTable members = MemberTable.load(store);
          try (ApplyBatch batch = new ApplyBatch()) {
            members.forgetAll(batch);
            batch.setApplied(0, 0);
            store.commit(batch);
          }
          revision = store.currentRevision();
        }
        System.out.println("restored snapshot " + file + " into " + dir + " at revision " + revision
            + "; start each member with --initial-cluster-state new");
        return 0;
      } catch (Exception e) {
        deleteQuietly(dir);
        System.err.println("Error: " + e.getMessage());
        return 1;
      }
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true, description = "Check a snapshot and show what it holds.")
  static final class Status implements Callable<Integer> {
    @Parameters(index = "0", description = "The snapshot file.")
    Path file;

    @Override
    public Integer call() throws Exception {
      Path tmp = Files.createTempDirectory("etcetera-snapshot-status");
      try {
        Path kv = tmp.resolve("kv");
        SnapshotFile.Status s = SnapshotFile.unpack(file, kv, false);
        try (Backend backend = Backend.open(kv); MvccStore store = MvccStore.open(backend)) {
          System.out.println("sha256: " + s.sha256());
          System.out.println("revision: " + store.currentRevision());
          System.out.println("compacted revision: " + Math.max(0, store.compactRevision()));
          System.out.println("total size: " + s.bytes());
        }
        return 0;
      } catch (Exception e) {
        System.err.println("Error: " + e.getMessage());
        return 1;
      } finally {
        deleteQuietly(tmp);
      }
    }
  }

  /** Best-effort removal of a directory tree (a failed restore, a status check's scratch). */
  private static void deleteQuietly(Path dir) {
    try {
      SnapshotFile.deleteTree(dir);
    } catch (java.io.IOException e) {
      System.err.println("warning: cannot delete " + dir + ": " + e.getMessage());
    }
  }
}
