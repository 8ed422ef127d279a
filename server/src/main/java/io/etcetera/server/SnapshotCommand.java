package io.etcetera.server;

import io.etcetera.mvcc.bolt.BoltReader;
import io.etcetera.mvcc.snapshot.EtcdDbImport;
import io.etcetera.mvcc.snapshot.EtcdDbStatus;
import io.etcetera.server.snapshot.EtcdDbRestore;
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
 * {@code etcetera snapshot restore|status FILE}: the offline side of {@code etcdctl snapshot save},
 * for snapshots taken from etcd or from Etcetera (both are etcd's bbolt database plus its SHA-256).
 * {@code restore} makes a new data dir holding the snapshot's keyspace (keys with their revisions,
 * leases, users and roles, alarms) without its membership and applied index, so that members
 * started on such data dirs with {@code --initial-cluster-state new} form a new cluster around
 * that keyspace, as etcd's restore does; etcdctl's flags are accepted. {@code status} prints what
 * {@code etcdctl snapshot status} prints. (A data dir made by {@code etcdctl snapshot restore}
 * works too: a member imports it when it starts.)
 */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
    description = "Restore or inspect a snapshot taken with 'etcdctl snapshot save' (from etcd or Etcetera).",
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
        SnapshotFile.checkHash(file, skipHashCheck);
        EtcdDbImport.Summary s = EtcdDbRestore.into(file, member.resolve("kv"));
        System.out.println("restored snapshot " + file + " into " + dir + " at revision " + s.revision()
            + "; start each member with --initial-cluster-state new");
        return 0;
      } catch (Exception e) {
        deleteQuietly(dir);
        System.err.println("Error: " + e.getMessage());
        return 1;
      }
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true, description = "Show a snapshot's hash, revision, total keys and size, as etcdctl does.")
  static final class Status implements Callable<Integer> {
    @Parameters(index = "0", description = "The snapshot file.")
    Path file;

    @Option(names = {"-w", "--write-out"}, defaultValue = "simple", description = "simple, json or table (default: ${DEFAULT-VALUE}).")
    String format;

    @Override
    public Integer call() throws Exception {
      try (BoltReader db = BoltReader.open(file)) {
        EtcdDbStatus s = EtcdDbStatus.of(db);
        switch (format) {
          case "json" -> System.out.println("{\"hash\":" + s.hash() + ",\"revision\":" + s.revision()
              + ",\"totalKey\":" + s.totalKey() + ",\"totalSize\":" + s.totalSize() + "}");
          case "table" -> {
            System.out.println("+----------+----------+------------+------------+");
            System.out.println("|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |");
            System.out.println("+----------+----------+------------+------------+");
            System.out.printf("| %8x | %8d | %10d | %10s |%n", s.hash(), s.revision(), s.totalKey(), humanBytes(s.totalSize()));
            System.out.println("+----------+----------+------------+------------+");
          }
          default -> System.out.printf("%x, %d, %d, %s%n", s.hash(), s.revision(), s.totalKey(), humanBytes(s.totalSize()));
        }
        return 0;
      } catch (Exception e) {
        System.err.println("Error: " + e.getMessage());
        return 1;
      }
    }
  }

  /** Sizes as etcdctl prints them (go-humanize's SI bytes: "25 kB", "1.2 MB"). */
  static String humanBytes(long n) {
    if (n < 10) {
      return n + " B";
    }
    String[] units = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    double e = Math.floor(Math.log(n) / Math.log(1000));
    double v = Math.floor(n / Math.pow(1000, e) * 10 + 0.5) / 10;
    String f = v < 10 ? String.format("%.1f", v) : String.format("%.0f", v);
    return f + " " + units[(int) e];
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
