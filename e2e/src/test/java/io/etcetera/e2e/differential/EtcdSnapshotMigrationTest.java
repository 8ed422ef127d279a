package io.etcetera.e2e.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Command;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Tools;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Moving a keyspace between real etcd 3.4.23 and Etcetera through {@code etcdctl snapshot save}
 * and a restore, both ways and with either tool: the restored member serves the same keys,
 * revisions, deletions, compaction point, lease and user, hashes the keyspace as the source did
 * ({@code endpoint hashkv}, whose value both implementations compute from etcd's rows), and takes
 * the next write at the snapshot's revision plus one.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class EtcdSnapshotMigrationTest {

  /** What the source member held when its snapshot was taken. */
  private record Source(long revision, String hash, String leaseId) {}

  private static Source fill(String ep) {
    for (int i = 0; i < 30; i++) Etcdctl.run(ep, "put", "m/" + i, "v" + i).ok();
    Etcdctl.run(ep, "put", "m/3", "overwritten").ok();
    Etcdctl.run(ep, "del", "m/7").ok();
    Etcdctl.run(ep, "compaction", "5").ok();
    String lease = Etcdctl.run(ep, "lease", "grant", "900").ok().split("\\s+")[1];
    Etcdctl.run(ep, "put", "m/leased", "x", "--lease=" + lease).ok();
    Etcdctl.run(ep, "user", "add", "bob:secret").ok();
    long revision = Etcdctl.run(ep, "get", "m/0", "-w", "json").json().get("header").get("revision").asLong();
    return new Source(revision, hashKv(ep, revision), lease);
  }

  private static String hashKv(String ep, long revision) {
    return Etcdctl.run(ep, "endpoint", "hashkv", "--rev=" + revision, "-w", "json").json().get(0).get("HashKV").get("hash").asText();
  }

  private static void assertRestored(String ep, Source s) {
    assertEquals("overwritten", Etcdctl.run(ep, "get", "m/3", "--print-value-only").ok().trim());
    assertEquals("", Etcdctl.run(ep, "get", "m/7").ok().trim(), "the deleted key stays deleted");
    assertEquals(30, Etcdctl.run(ep, "get", "m/", "--prefix", "--keys-only", "-w", "json").json().get("count").asLong());
    assertEquals(s.hash(), hashKv(ep, s.revision()), "the restored member holds the source's rows");
    Etcdctl.run(ep, "get", "m/0", "--rev=4").fails("etcdserver: mvcc: required revision has been compacted");
    assertTrue(Etcdctl.run(ep, "lease", "list").ok().contains(s.leaseId()), "the lease is back");
    assertTrue(Etcdctl.run(ep, "user", "list").ok().contains("bob"), "the user is back");
    long next = Etcdctl.run(ep, "put", "m/after", "v", "-w", "json").json().get("header").get("revision").asLong();
    assertEquals(s.revision() + 1, next, "writes continue from the snapshot's revision");
  }

  private static Command etcetera(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Tools.launcher().toString()));
    cmd.addAll(List.of(args));
    return Command.run(cmd, 120);
  }

  private static void etcdctlRestore(Path snapshot, Path dataDir, String name, Ports.Address at) {
    Etcdctl.Result r = Etcdctl.run("127.0.0.1:1", "snapshot", "restore", snapshot.toString(), "--name", name,
        "--data-dir", dataDir.toString(), "--initial-cluster", name + "=" + at.peerUrl(),
        "--initial-advertise-peer-urls", at.peerUrl());
    assertEquals(0, r.exitCode(), r.describe());
  }

  private static Source saveFrom(Binary binary, Path work, Path snapshot) {
    try (Member m = Member.start(binary, work.resolve("source"), Ports.allocate())) {
      Source s = fill(m.endpoint());
      Etcdctl.Result save = Etcdctl.run(m.endpoint(), "snapshot", "save", snapshot.toString());
      assertEquals(0, save.exitCode(), save.describe());
      return s;
    }
  }

  @Test
  void anEtcdSnapshotRestoresIntoEtceteraWithEitherTool(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Path snapshot = work.resolve("etcd.db");
    Source s = saveFrom(Binary.ETCD, work, snapshot);

    Command r = etcetera("snapshot", "restore", snapshot.toString(), "--name", "by-etcetera",
        "--data-dir", work.resolve("by-etcetera").toString());
    assertEquals(0, r.exit(), r.output());
    try (Member m = Member.start(Binary.ETCETERA, work.resolve("by-etcetera"), Ports.allocate(), "--name=by-etcetera")) {
      assertRestored(m.endpoint(), s);
    }

    Ports.Address at = Ports.allocate();
    etcdctlRestore(snapshot, work.resolve("by-etcdctl"), "by-etcdctl", at);
    try (Member m = Member.start(Binary.ETCETERA, work.resolve("by-etcdctl"), at, "--name=by-etcdctl")) {
      assertRestored(m.endpoint(), s);
    }
  }

  @Test
  void anEtceteraSnapshotRestoresIntoEtcd(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Path snapshot = work.resolve("etcetera.db");
    Source s = saveFrom(Binary.ETCETERA, work, snapshot);
    Ports.Address at = Ports.allocate();
    etcdctlRestore(snapshot, work.resolve("etcd"), "restored", at);
    assertTrue(Files.exists(work.resolve("etcd/member/wal")));
    try (Member m = Member.start(Binary.ETCD, work.resolve("etcd"), at, "--name=restored")) {
      assertRestored(m.endpoint(), s);
    }
  }

  /**
   * The drop-in: an etcd member stopped cleanly (SIGTERM), then the same command line with only the
   * binary changed starts Etcetera on its data dir, which takes the keyspace over.
   */
  @Test
  void etceteraStartsOnTheDataDirOfACleanlyStoppedEtcd(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Ports.Address at = Ports.allocate();
    Path dir = work.resolve("member");
    Source s;
    try (Member m = Member.start(Binary.ETCD, dir, at, "--name=swap")) {
      s = fill(m.endpoint());
      m.stop();
    }
    try (Member m = Member.start(Binary.ETCETERA, dir, at, "--name=swap")) {
      assertRestored(m.endpoint(), s);
    }
  }

  /**
   * An etcd data dir whose log holds writes its database lacks (etcd commits its database in
   * batches, here never: a crash leaves them in the log only) is refused at start with a way out,
   * and no store is made from the partial database.
   */
  @Test
  void anEtcdDataDirWithWritesOnlyInItsLogIsRefused(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Ports.Address at = Ports.allocate();
    Path dir = work.resolve("etcd");
    try (Member m = Member.start(Binary.ETCD, dir, at, "--name=live", "--backend-batch-interval=1h",
        "--backend-batch-limit=1000000")) {
      for (int i = 0; i < 5; i++) Etcdctl.run(m.endpoint(), "put", "w/" + i, "v").ok();
      m.kill9();
    }
    String output = refusedStart(work, dir, at, "live=" + at.peerUrl());
    assertTrue(output.contains("writes after its database's consistent index")
        && output.contains("Etcetera does not replay etcd's log"), output);
    assertTrue(Files.notExists(dir.resolve("member/kv")), "no store is made from the partial database");
  }

  /**
   * A member of a live multi-member etcd cluster (its log holds writes, it was not restored from a
   * snapshot) is refused: the members' databases can differ by entries some had not applied.
   */
  @Test
  void aLiveClusterMembersDataDirIsRefusedInAMultiMemberCluster(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Ports.Address at = Ports.allocate();
    Path dir = work.resolve("etcd");
    try (Member m = Member.start(Binary.ETCD, dir, at, "--name=live")) {
      Etcdctl.run(m.endpoint(), "put", "k", "v").ok();
      m.stop();
    }
    String output = refusedStart(work, dir, at, "live=" + at.peerUrl() + ",other=http://127.0.0.1:1,third=http://127.0.0.1:2");
    assertTrue(output.contains("is a member of a running etcd cluster") && output.contains("in a cluster of 3"), output);
    assertTrue(Files.notExists(dir.resolve("member/kv")));
  }

  /** Starts Etcetera as member "live" on {@code dir}, expects it to exit 1 at once; returns its output. */
  private static String refusedStart(Path work, Path dir, Ports.Address at, String initialCluster) throws Exception {
    Path log = work.resolve("etcetera.log");
    Process p = new ProcessBuilder(Tools.launcher().toString(), "--name=live", "--data-dir=" + dir,
        "--listen-client-urls=" + at.clientUrl(), "--advertise-client-urls=" + at.clientUrl(),
        "--listen-peer-urls=" + at.peerUrl(), "--initial-advertise-peer-urls=" + at.peerUrl(),
        "--initial-cluster=" + initialCluster)
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      assertTrue(p.waitFor(90, TimeUnit.SECONDS), "Etcetera started on a data dir it must refuse");
      String output = Files.readString(log);
      assertEquals(1, p.exitValue(), output);
      return output;
    } finally {
      p.destroyForcibly();
    }
  }
}
