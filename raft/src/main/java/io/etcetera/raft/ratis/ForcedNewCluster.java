package io.etcetera.raft.ratis;

import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.membership.MemberTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's {@code --force-new-cluster}: a member that has data restarts as the only member of its
 * cluster, keeping its keys, leases, users and the cluster ID, so that an operator can recover
 * from a lost quorum. Before Raft starts, the member table is rewritten to this member alone and
 * the Raft group's storage (log, term, configuration, snapshots) is dropped; the member then
 * starts a Raft group of one whose log begins after the store's applied index (the state machine
 * reports the store as a snapshot at that index, see {@link EtcdStateMachine}).
 *
 * <p>Like etcd, which keeps only the committed entries of its log, the member keeps what it has
 * applied: entries its log held beyond that (at most those in flight when the cluster was lost)
 * are dropped. Runs on the starting thread, before anything else uses the store.
 */
final class ForcedNewCluster {
  private static final Logger log = LoggerFactory.getLogger(ForcedNewCluster.class);

  private ForcedNewCluster() {}

  /** Whether the flag applies: etcd ignores it for a member without data (a plain start). */
  static boolean applies(RatisSettings settings, MemberTable table) {
    return settings.forceNewCluster() && !table.isEmpty();
  }

  static void prepare(RatisSettings settings, MvccStore store, MemberTable table, Path groupDir) throws IOException {
    if (store.appliedIndex() == 0) {
      // a member table but no applied index: a crash interrupted the load of a snapshot, which
      // only the Raft storage this flag drops still holds (Backend#replaceContentWith)
      throw new IOException("--force-new-cluster: the store of member " + Long.toHexString(settings.memberId())
          + " was being loaded from a snapshot when it stopped; start it once without the flag to finish the load");
    }
    log.warn("--force-new-cluster: member {} restarts as the only member of cluster {} at applied index {}",
        Long.toHexString(settings.memberId()), Long.toHexString(table.clusterId()), store.appliedIndex());
    try (ApplyBatch batch = new ApplyBatch()) {
      table.keepOnly(batch, settings.memberId());
      batch.setApplied(store.appliedIndex(), store.appliedTerm());
      store.commit(batch);
    }
    store.backend().syncWal(); // durable before the Raft log that led to it is gone
    if (Files.exists(groupDir)) {
      try (Stream<Path> files = Files.walk(groupDir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }
}
