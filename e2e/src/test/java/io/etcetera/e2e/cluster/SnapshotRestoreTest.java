package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * Backup and restore as an operator does it: {@code etcdctl snapshot save} from a running member
 * (a file etcdctl accepts: 512-byte blocks plus a SHA-256), {@code etcetera snapshot status}, then
 * {@code etcetera snapshot restore} into three new data dirs and a new 3-member cluster started on
 * them with {@code --initial-cluster-state new}: the keyspace is back (values, revisions, deletions,
 * the lease and its key, users), every member hashes it as the original did, and writes continue
 * from the snapshot's revision. A damaged file is refused with a clear message and no data dir.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class SnapshotRestoreTest {

  private static Command etcetera(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Tools.launcher().toString()));
    cmd.addAll(List.of(args));
    return Command.run(cmd, 120);
  }

  @Test
  void aSnapshotSavedWithEtcdctlRestoresIntoANewThreeMemberCluster(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Path snapshot = work.resolve("backup.db");
    long revision;
    String hash;
    String leaseId;
    try (Member m = Member.start(Binary.ETCETERA, work.resolve("original"), Ports.allocate())) {
      String ep = m.endpoint();
      for (int i = 0; i < 40; i++) Etcdctl.run(ep, "put", "s/" + i, "v" + i).ok();
      Etcdctl.run(ep, "put", "s/3", "overwritten").ok();
      Etcdctl.run(ep, "del", "s/7").ok();
      leaseId = Etcdctl.run(ep, "lease", "grant", "900").ok().split("\\s+")[1];
      Etcdctl.run(ep, "put", "s/leased", "x", "--lease=" + leaseId).ok();
      Etcdctl.run(ep, "user", "add", "bob:secret").ok();
      revision = Etcdctl.run(ep, "get", "s/0", "-w", "json").json().get("header").get("revision").asLong();
      hash = Etcdctl.run(ep, "endpoint", "hashkv", "--rev=" + revision, "-w", "json").json().get(0).get("HashKV").get("hash").asText();
      Etcdctl.Result save = Etcdctl.run(ep, "snapshot", "save", snapshot.toString());
      assertEquals(0, save.exitCode(), save.describe());
    }
    assertEquals(32, Files.size(snapshot) % 512, "etcdctl kept the file: blocks plus a SHA-256");

    Command status = etcetera("snapshot", "status", snapshot.toString());
    assertEquals(0, status.exit(), status.output());
    assertTrue(status.output().contains("revision: " + revision), status.output());

    byte[] damaged = Files.readAllBytes(snapshot);
    damaged[damaged.length / 2] ^= 1;
    Path bad = Files.write(work.resolve("damaged.db"), damaged);
    Command refused = etcetera("snapshot", "restore", bad.toString(), "--data-dir", work.resolve("never").toString());
    assertEquals(1, refused.exit(), refused.output());
    assertTrue(refused.output().contains("does not match its SHA-256"), refused.output());
    assertFalse(Files.exists(work.resolve("never")), "no data dir is left by a refused restore");

    Path clusterDir = work.resolve("restored");
    for (int i = 1; i <= 3; i++) {
      Command r = etcetera("snapshot", "restore", snapshot.toString(), "--name", "etcd" + i,
          "--data-dir", clusterDir.resolve("etcd" + i).toString());
      assertEquals(0, r.exit(), r.output());
    }
    Command again = etcetera("snapshot", "restore", snapshot.toString(), "--data-dir", clusterDir.resolve("etcd1").toString());
    assertEquals(1, again.exit());
    assertTrue(again.output().contains("exists"), again.output());

    try (Cluster c = Cluster.builder(clusterDir).size(3).start()) {
      for (int i = 1; i <= 3; i++) {
        assertEquals("overwritten", c.etcdctl(i, "get", "s/3", "--print-value-only").ok().trim());
        assertEquals("", c.etcdctl(i, "get", "s/7").ok().trim(), "the deleted key stays deleted");
        assertEquals(40, c.etcdctl(i, "get", "s/", "--prefix", "--keys-only", "-w", "json").json().get("count").asLong(), "40 puts, one deleted, the leased key");
        String h = c.etcdctl(i, "endpoint", "hashkv", "--rev=" + revision, "-w", "json").json().get(0).get("HashKV").get("hash").asText();
        assertEquals(hash, h, "member " + i + " holds the original rows");
      }
      assertTrue(c.etcdctl(2, "lease", "list").ok().contains(Long.toHexString(Long.parseLong(leaseId, 16))));
      assertTrue(c.etcdctl(3, "user", "list").ok().contains("bob"));
      long next = c.etcdctl(1, "put", "s/after", "v", "-w", "json").json().get("header").get("revision").asLong();
      assertEquals(revision + 1, next, "writes continue from the snapshot's revision");
      assertEquals(3, c.etcdctl(1, "member", "list").lines().size(), "a new cluster of the three restored members");
    }
  }
}
