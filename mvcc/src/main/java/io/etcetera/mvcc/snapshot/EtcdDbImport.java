package io.etcetera.mvcc.snapshot;

import io.etcetera.api.etcdserverpb.AlarmMember;
import io.etcetera.mvcc.alarm.AlarmStore;
import io.etcetera.mvcc.auth.AuthStore;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.backend.MetaKeys;
import io.etcetera.mvcc.bolt.BoltReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

/**
 * Loads etcd's backend database (a bbolt file: an {@code etcdctl snapshot save} file, the
 * {@code member/snap/db} of an etcd data dir, or a snapshot Etcetera sent) into an empty store:
 * the keyspace with its revisions and compaction point, leases, users, roles, the auth switch and
 * alarms. Membership ({@code members}, {@code members_removed}, {@code cluster}) and the applied
 * index are left out: the store starts a new cluster, as etcd's restore does.
 *
 * <p>Rows are written in batches of bounded size, then the store's revision; the caller syncs and
 * opens the store. Single-threaded; the store must not be open for writes elsewhere.
 */
public final class EtcdDbImport {
  private static final long BATCH_BYTES = 8L << 20;

  /** What was loaded. */
  public record Summary(long revision, long compactRevision, long kvRows, long leases, long users, long roles, long alarms) {}

  private final Backend backend;
  private WriteBatch batch = new WriteBatch();

  private EtcdDbImport(Backend backend) {
    this.backend = backend;
  }

  /** Loads {@code db} into {@code backend}, which must hold nothing yet. */
  public static Summary load(BoltReader db, Backend backend) throws IOException {
    EtcdDbImport i = new EtcdDbImport(backend);
    try {
      return i.load(db);
    } finally {
      i.batch.close();
    }
  }

  private Summary load(BoltReader db) throws IOException {
    if (!db.hasBucket(bytes("key")) || !db.hasBucket(bytes("meta"))) {
      throw new IOException("not an etcd backend database (no \"key\" and \"meta\" buckets)");
    }
    long[] kv = {0, 0}; // rows, highest main revision
    db.forEach(bytes("key"), (k, v) -> {
      boolean revisionShaped = (k.length == 17 || k.length == 18 && k[17] == 't') && k[8] == '_';
      if (!revisionShaped) {
        throw new IOException("not an etcd backend database (a \"key\" row has a " + k.length + "-byte key)");
      }
      put(backend.kv(), k, v);
      kv[0]++;
      kv[1] = Math.max(kv[1], ByteBuffer.wrap(k).getLong());
    });
    long[] compact = {-1, -1}; // scheduled, finished
    db.forEach(bytes("meta"), (k, v) -> {
      String name = new String(k, StandardCharsets.UTF_8);
      if (name.equals("scheduledCompactRev") || name.equals("finishedCompactRev")) {
        if (v.length < 8) {
          throw new IOException("damaged etcd meta row " + name);
        }
        compact[name.startsWith("s") ? 0 : 1] = ByteBuffer.wrap(v).getLong();
      }
    });
    if (compact[0] >= 0) {
      put(backend.meta(), MetaKeys.SCHEDULED_COMPACT, MetaKeys.encode(compact[0]));
    }
    if (compact[1] >= 0) {
      put(backend.meta(), MetaKeys.FINISHED_COMPACT, MetaKeys.encode(compact[1]));
    }
    long[] leases = {0};
    db.forEach(bytes("lease"), (k, v) -> {
      EtcdLeaseRow.Lease l = EtcdLeaseRow.decode(v);
      put(backend.lease(), io.etcetera.mvcc.lease.Lessor.key(l.id()), io.etcetera.mvcc.lease.Lessor.rowValue(l.ttl()));
      leases[0]++;
    });
    db.forEach(bytes("auth"), (k, v) -> {
      String name = new String(k, StandardCharsets.UTF_8);
      if (name.equals("authEnabled")) {
        put(backend.auth(), AuthStore.ENABLED, v);
      } else if (name.equals("authRevision")) {
        put(backend.auth(), AuthStore.REVISION, v);
      }
    });
    long[] users = {0};
    db.forEach(bytes("authUsers"), (k, v) -> {
      put(backend.auth(), AuthStore.key(AuthStore.USER, new String(k, StandardCharsets.UTF_8)), v);
      users[0]++;
    });
    long[] roles = {0};
    db.forEach(bytes("authRoles"), (k, v) -> {
      put(backend.auth(), AuthStore.key(AuthStore.ROLE, new String(k, StandardCharsets.UTF_8)), v);
      roles[0]++;
    });
    long[] alarms = {0};
    db.forEach(bytes("alarm"), (k, v) -> {
      put(backend.meta(), AlarmStore.rowKey(AlarmMember.parseFrom(k)), new byte[0]);
      alarms[0]++;
    });
    // the revision survives a compaction that removed the newest rows (a deleted key's tombstone)
    long revision = Math.max(kv[1], Math.max(compact[0], compact[1]));
    put(backend.meta(), MetaKeys.CURRENT_REVISION, MetaKeys.encode(Math.max(1, revision)));
    flush();
    backend.syncWal();
    return new Summary(Math.max(1, revision), compact[0], kv[0], leases[0], users[0], roles[0], alarms[0]);
  }

  private void put(ColumnFamilyHandle cf, byte[] key, byte[] value) throws IOException {
    try {
      batch.put(cf, key, value);
    } catch (RocksDBException e) {
      throw new IOException("cannot stage a row", e);
    }
    if (batch.getDataSize() >= BATCH_BYTES) {
      flush();
    }
  }

  private void flush() {
    if (batch.count() > 0) {
      backend.commit(batch, false);
      batch.close();
      batch = new WriteBatch();
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
