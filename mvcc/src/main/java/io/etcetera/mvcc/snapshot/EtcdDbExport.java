package io.etcetera.mvcc.snapshot;

import io.etcetera.api.etcdserverpb.AlarmMember;
import io.etcetera.mvcc.alarm.AlarmStore;
import io.etcetera.mvcc.auth.AuthStore;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.backend.MetaKeys;
import io.etcetera.mvcc.bolt.BoltWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.rocksdb.RocksIterator;

/**
 * Writes the store as etcd's backend database: a bbolt file whose buckets hold etcd's rows, so that
 * {@code etcdctl snapshot status|restore} and etcd itself read a snapshot taken from Etcetera.
 *
 * <ul>
 *   <li>{@code key}: the kv rows as they are (Etcetera's are etcd's, byte for byte);
 *   <li>{@code lease}: lease ID (8 bytes big-endian) to a {@code leasepb.Lease} (ID, TTL);
 *   <li>{@code auth} ({@code authEnabled}, {@code authRevision}), {@code authUsers},
 *       {@code authRoles} (name to the authpb message);
 *   <li>{@code alarm}: each alarm's {@code AlarmMember} bytes, empty value;
 *   <li>{@code meta}: {@code consistent_index} and {@code term} (8 bytes big-endian), the
 *       compaction revisions as etcd's 17-byte revision keys;
 *   <li>buckets of other layers (members, cluster version) given by the caller.
 * </ul>
 *
 * <p>Everything comes from one RocksDB snapshot (the state after one whole applied entry), so the
 * file is consistent. The kv and lease rows stream through; the other buckets are small and are
 * sorted in memory. Stateless; any thread.
 */
public final class EtcdDbExport {

  /** A row of a bucket. */
  public record Row(byte[] key, byte[] value) {}

  private EtcdDbExport() {}

  /** Where the buckets go, in order: a bbolt file, or a hash. */
  public interface BucketSink {
    void beginBucket(byte[] name) throws IOException;

    void put(byte[] key, byte[] value) throws IOException;
  }

  /** etcd's Maintenance.Hash of a store and the revision it was taken at. */
  public record Hash(long hash, long revision) {}

  /**
   * Writes every bucket to {@code out} (which must be fresh) and finishes it; returns the file's size.
   *
   * @param extraBuckets buckets kept by other layers, by name; each list in key order
   */
  public static long write(Backend backend, BoltWriter out, Map<String, List<Row>> extraBuckets) throws IOException {
    export(backend, new BucketSink() {
      @Override
      public void beginBucket(byte[] name) throws IOException {
        out.beginBucket(name);
      }

      @Override
      public void put(byte[] key, byte[] value) throws IOException {
        out.put(key, value);
      }
    }, extraBuckets);
    return out.finish();
  }

  /**
   * etcd's Maintenance.Hash ({@code backend.Hash(DefaultIgnores)}): a CRC-32C over every bucket's
   * name, then its keys and values, leaving out {@code meta}'s {@code consistent_index}.
   */
  public static Hash hash(Backend backend, Map<String, List<Row>> extraBuckets) throws IOException {
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    byte[] meta = bytes("meta");
    byte[] consistentIndex = bytes("consistent_index");
    long revision = export(backend, new BucketSink() {
      private boolean inMeta;

      @Override
      public void beginBucket(byte[] name) {
        crc.update(name);
        inMeta = Arrays.equals(name, meta);
      }

      @Override
      public void put(byte[] key, byte[] value) {
        if (!(inMeta && Arrays.equals(key, consistentIndex))) {
          crc.update(key);
          crc.update(value);
        }
      }
    }, extraBuckets);
    return new Hash(crc.getValue(), revision);
  }

  /** Sends every bucket to {@code out}; returns the store's revision in that snapshot. */
  private static long export(Backend backend, BucketSink out, Map<String, List<Row>> extraBuckets) throws IOException {
    try {
      return backend.readSnapshot(rows -> {
        try {
          return writeBuckets(rows, out, extraBuckets);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private interface BucketBody {
    void write() throws IOException;
  }

  private static long writeBuckets(Backend.SnapshotRows rows, BucketSink out, Map<String, List<Row>> extra) throws IOException {
    List<Row> alarms = new ArrayList<>();
    List<Row> meta = new ArrayList<>();
    byte[] consistentIndex = null;
    byte[] consistentTerm = null;
    byte[] scheduled = null;
    byte[] finished = null;
    long[] revision = {0};
    RocksIterator m = rows.meta();
    for (m.seekToFirst(); m.isValid(); m.next()) {
      byte[] k = m.key();
      if (AlarmStore.isRowKey(k)) {
        AlarmMember a = AlarmStore.fromRowKey(k);
        alarms.add(new Row(a.toByteArray(), new byte[0]));
      } else if (Arrays.equals(k, MetaKeys.CONSISTENT_INDEX)) {
        consistentIndex = m.value();
      } else if (Arrays.equals(k, MetaKeys.CONSISTENT_TERM)) {
        consistentTerm = m.value();
      } else if (Arrays.equals(k, MetaKeys.SCHEDULED_COMPACT)) {
        scheduled = revisionKey(MetaKeys.decode(m.value()));
      } else if (Arrays.equals(k, MetaKeys.FINISHED_COMPACT)) {
        finished = revisionKey(MetaKeys.decode(m.value()));
      } else if (Arrays.equals(k, MetaKeys.CURRENT_REVISION)) {
        revision[0] = MetaKeys.decode(m.value());
      }
    }
    alarms.sort((a, b) -> Arrays.compareUnsigned(a.key(), b.key()));
    meta.add(new Row(bytes("consistent_index"), consistentIndex != null ? consistentIndex : MetaKeys.encode(0)));
    if (finished != null) {
      meta.add(new Row(bytes("finishedCompactRev"), finished));
    }
    if (scheduled != null) {
      meta.add(new Row(bytes("scheduledCompactRev"), scheduled));
    }
    meta.add(new Row(bytes("term"), consistentTerm != null ? consistentTerm : MetaKeys.encode(0)));

    List<Row> auth = new ArrayList<>();
    List<Row> users = new ArrayList<>();
    List<Row> roles = new ArrayList<>();
    byte[] enabled = null;
    long authRevision = 0;
    RocksIterator a = rows.auth();
    for (a.seekToFirst(); a.isValid(); a.next()) {
      byte[] k = a.key();
      String name = new String(k, StandardCharsets.UTF_8);
      if (Arrays.equals(k, AuthStore.ENABLED)) {
        enabled = a.value();
      } else if (Arrays.equals(k, AuthStore.REVISION)) {
        authRevision = ByteBuffer.wrap(a.value()).getLong();
      } else if (name.startsWith(AuthStore.USER)) {
        users.add(new Row(Arrays.copyOfRange(k, AuthStore.USER.length(), k.length), a.value()));
      } else if (name.startsWith(AuthStore.ROLE)) {
        roles.add(new Row(Arrays.copyOfRange(k, AuthStore.ROLE.length(), k.length), a.value()));
      }
    }
    if (enabled != null) {
      auth.add(new Row(bytes("authEnabled"), enabled));
    }
    auth.add(new Row(bytes("authRevision"), MetaKeys.encode(Math.max(1, authRevision))));

    TreeMap<String, BucketBody> buckets = new TreeMap<>();
    buckets.put("alarm", () -> putAll(out, alarms));
    buckets.put("auth", () -> putAll(out, auth));
    buckets.put("authRoles", () -> putAll(out, roles));
    buckets.put("authUsers", () -> putAll(out, users));
    buckets.put("meta", () -> putAll(out, meta));
    buckets.put("key", () -> {
      RocksIterator kv = rows.kv();
      for (kv.seekToFirst(); kv.isValid(); kv.next()) {
        byte[] k = kv.key();
        out.put(k, kv.value());
        revision[0] = Math.max(revision[0], ByteBuffer.wrap(k).getLong());
      }
    });
    buckets.put("lease", () -> {
      RocksIterator l = rows.lease();
      for (l.seekToFirst(); l.isValid(); l.next()) {
        long id = ByteBuffer.wrap(l.key()).getLong();
        long ttl = ByteBuffer.wrap(l.value()).getLong();
        out.put(l.key(), EtcdLeaseRow.encode(id, ttl));
      }
    });
    for (Map.Entry<String, List<Row>> e : extra.entrySet()) {
      if (buckets.containsKey(e.getKey())) {
        throw new IllegalArgumentException("bucket " + e.getKey() + " is the store's own");
      }
      buckets.put(e.getKey(), () -> putAll(out, e.getValue()));
    }
    // bucket names are ASCII: String order is bbolt's byte order
    for (Map.Entry<String, BucketBody> b : buckets.entrySet()) {
      out.beginBucket(bytes(b.getKey()));
      b.getValue().write();
    }
    return Math.max(1, revision[0]);
  }

  private static void putAll(BucketSink out, List<Row> rows) throws IOException {
    for (Row r : rows) {
      out.put(r.key(), r.value());
    }
  }

  /** etcd's 17-byte revision key of {@code main} (sub revision 0): main, '_', sub, big-endian. */
  static byte[] revisionKey(long main) {
    return ByteBuffer.allocate(17).putLong(main).put((byte) '_').putLong(0).array();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
