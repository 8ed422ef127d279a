package io.etcetera.server.snapshot;

import io.etcetera.mvcc.bolt.BoltReader;
import io.etcetera.mvcc.snapshot.EtcdDbImport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At start: a data dir that holds etcd's files ({@code member/snap/db}, {@code member/wal}) and no
 * Etcetera store yet is taken over: the database is loaded into a new store (see
 * {@link EtcdDbRestore}). That is what {@code etcdctl snapshot restore} leaves (on every member, from
 * one snapshot), and what a single etcd member stopped cleanly leaves. etcd's log is not replayed,
 * so a log holding writes past the database's consistent index is refused with a way out, and so is
 * the data dir of a live multi-member cluster's member, whose database can lag the others'. etcd's
 * files are left as they are.
 */
public final class EtcdDataDirImport {
  private static final Logger log = LoggerFactory.getLogger(EtcdDataDirImport.class);

  private EtcdDataDirImport() {}

  /**
   * Imports etcd's database of {@code memberDir} into {@code kvDir} when there is one and no store.
   *
   * @param clusterSize the number of members in {@code --initial-cluster}
   */
  public static void importIfEtcd(Path memberDir, Path kvDir, int clusterSize) throws IOException {
    Path db = memberDir.resolve("snap").resolve("db");
    if (Files.exists(kvDir) || !Files.isRegularFile(db)) {
      return;
    }
    long consistentIndex = consistentIndex(db);
    EtcdWal.Writes writes = EtcdWal.writes(memberDir.resolve("wal"), consistentIndex);
    String wayOut = "take a snapshot of the running etcd (etcdctl snapshot save) and restore it (etcdctl snapshot"
        + " restore or etcetera snapshot restore) into a new data dir for every member";
    if (writes.afterApplied() > 0) {
      throw new IOException("etcd's log in " + memberDir.resolve("wal") + " holds " + writes.afterApplied()
          + " writes after its database's consistent index " + consistentIndex
          + "; Etcetera does not replay etcd's log: " + wayOut);
    }
    // a restored data dir's log holds no writes: every member restored the same snapshot. The
    // databases of a live cluster's members can differ by the entries some had not applied yet
    if (writes.total() > 0 && clusterSize > 1) {
      throw new IOException("the data dir " + memberDir.getParent() + " is a member of a running etcd cluster"
          + " (its log holds writes): its database can differ from the other members', so Etcetera does not"
          + " take it over in a cluster of " + clusterSize + "; " + wayOut);
    }
    EtcdDbImport.Summary s = EtcdDbRestore.into(db, kvDir);
    log.info("imported etcd's database {}: revision {}, compacted at {}, {} kv rows, {} leases, {} users, {} roles,"
        + " {} alarms; etcd's membership is not kept (the member starts a new cluster from its flags)",
        db, s.revision(), s.compactRevision(), s.kvRows(), s.leases(), s.users(), s.roles(), s.alarms());
  }

  private static long consistentIndex(Path db) throws IOException {
    byte[] key = "consistent_index".getBytes(StandardCharsets.UTF_8);
    long[] index = {0};
    try (BoltReader reader = BoltReader.open(db)) {
      reader.forEach("meta".getBytes(StandardCharsets.UTF_8), (k, v) -> {
        if (Arrays.equals(k, key) && v.length == 8) {
          index[0] = ByteBuffer.wrap(v).getLong();
        }
      });
    }
    return index[0];
  }
}
