package io.etcetera.mvcc.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.AlarmMember;
import io.etcetera.api.etcdserverpb.AlarmType;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.alarm.AlarmStore;
import io.etcetera.mvcc.auth.AuthStore;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.backend.MetaKeys;
import io.etcetera.mvcc.bolt.BoltReader;
import io.etcetera.mvcc.bolt.BoltWriter;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.lease.Lessor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;

class EtcdDbRoundTripTest {

  @TempDir Path tmp;

  private static byte[] rev(long main, long sub, boolean tombstone) {
    ByteBuffer b = ByteBuffer.allocate(tombstone ? 18 : 17).putLong(main).put((byte) '_').putLong(sub);
    if (tombstone) {
      b.put((byte) 't');
    }
    return b.array();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A store with puts, a delete (tombstone), a compaction, a lease, auth rows, an alarm, a member row. */
  private static void fill(Backend b) throws Exception {
    try (WriteBatch w = new WriteBatch()) {
      for (int i = 1; i <= 300; i++) {
        KeyValue kv = KeyValue.newBuilder().setKey(ByteString.copyFromUtf8("k" + (i % 50))).setValue(ByteString.copyFromUtf8("v" + i))
            .setCreateRevision(Math.max(1, i - 50)).setModRevision(i + 1).setVersion(1 + i / 50).build();
        w.put(b.kv(), rev(i + 1, 0, false), kv.toByteArray());
      }
      w.put(b.kv(), rev(302, 0, true), KeyValue.newBuilder().setKey(ByteString.copyFromUtf8("k1")).build().toByteArray());
      w.put(b.meta(), MetaKeys.CONSISTENT_INDEX, MetaKeys.encode(777));
      w.put(b.meta(), MetaKeys.CONSISTENT_TERM, MetaKeys.encode(3));
      w.put(b.meta(), MetaKeys.CURRENT_REVISION, MetaKeys.encode(305));
      w.put(b.meta(), MetaKeys.SCHEDULED_COMPACT, MetaKeys.encode(120));
      w.put(b.meta(), MetaKeys.FINISHED_COMPACT, MetaKeys.encode(120));
      w.put(b.meta(), utf8("member/00000000000000aa"), new byte[] {1, 2});
      w.put(b.meta(), AlarmStore.rowKey(AlarmMember.newBuilder().setMemberID(0xaa).setAlarm(AlarmType.NOSPACE).build()), new byte[0]);
      w.put(b.lease(), Lessor.key(0x1234), Lessor.rowValue(900));
      w.put(b.auth(), AuthStore.ENABLED, new byte[] {1});
      w.put(b.auth(), AuthStore.REVISION, MetaKeys.encode(9));
      w.put(b.auth(), AuthStore.key(AuthStore.USER, "root"), utf8("user-bytes"));
      w.put(b.auth(), AuthStore.key(AuthStore.ROLE, "root"), utf8("role-bytes"));
      b.commit(w, true);
    }
  }

  private static List<String> rows(Backend b, ColumnFamilyHandle cf) {
    List<String> out = new ArrayList<>();
    b.readSnapshot(s -> {
      RocksIterator it = cf == b.kv() ? s.kv() : cf == b.meta() ? s.meta() : cf == b.lease() ? s.lease() : s.auth();
      for (it.seekToFirst(); it.isValid(); it.next()) {
        out.add(HexFormat.of().formatHex(it.key()) + "=" + HexFormat.of().formatHex(it.value()));
      }
      return null;
    });
    return out;
  }

  private Path export(Backend b) throws IOException {
    Path file = tmp.resolve("snapshot.db");
    try (BoltWriter w = BoltWriter.create(file)) {
      EtcdDbExport.write(b, w, Map.of("members", List.of(new EtcdDbExport.Row(utf8("aa"), utf8("{\"id\":170}")))));
    }
    return file;
  }

  @Test
  void theStoreMapsToEtcdsBucketsAndBackWithoutMembershipOrAppliedIndex() throws Exception {
    try (Backend original = Backend.open(tmp.resolve("a"), false)) {
      fill(original);
      Path file = export(original);
      try (BoltReader db = BoltReader.open(file); Backend restored = Backend.open(tmp.resolve("b"), false)) {
        List<String> buckets = new ArrayList<>();
        for (byte[] n : db.bucketNames()) {
          buckets.add(new String(n, StandardCharsets.UTF_8));
        }
        assertEquals(List.of("alarm", "auth", "authRoles", "authUsers", "key", "lease", "members", "meta"), buckets);

        EtcdDbImport.Summary s = EtcdDbImport.load(db, restored);
        assertEquals(new EtcdDbImport.Summary(302, 120, 301, 1, 1, 1, 1), s);
        assertEquals(rows(original, original.kv()), rows(restored, restored.kv()), "kv rows as they were");
        assertEquals(rows(original, original.lease()), rows(restored, restored.lease()), "lease rows as they were");
        assertEquals(rows(original, original.auth()), rows(restored, restored.auth()), "auth rows as they were");
        assertEquals(120, MetaKeys.decode(restored.getMeta(MetaKeys.SCHEDULED_COMPACT)));
        assertEquals(120, MetaKeys.decode(restored.getMeta(MetaKeys.FINISHED_COMPACT)));
        assertEquals(null, restored.getMeta(MetaKeys.CONSISTENT_INDEX), "no applied index: a new cluster");
        assertEquals(null, restored.getMeta(utf8("member/00000000000000aa")), "no membership");
        List<AlarmMember> alarms = new ArrayList<>();
        restored.forEachMeta(utf8("alarm/"), (k, v) -> alarms.add(AlarmStore.fromRowKey(k)));
        assertEquals(List.of(AlarmMember.newBuilder().setMemberID(0xaa).setAlarm(AlarmType.NOSPACE).build()), alarms);
      }
    }
    try (Backend restored = Backend.open(tmp.resolve("b"), false); MvccStore store = MvccStore.open(restored)) {
      assertEquals(302, store.currentRevision());
      assertEquals(120, store.compactRevision());
    }
  }

  @Test
  void etcdsRowsCarryEtcdsEncodings() throws Exception {
    try (Backend original = Backend.open(tmp.resolve("a"), false)) {
      fill(original);
      try (BoltReader db = BoltReader.open(export(original))) {
        List<String> meta = new ArrayList<>();
        db.forEach(utf8("meta"), (k, v) -> meta.add(new String(k, StandardCharsets.UTF_8) + "=" + HexFormat.of().formatHex(v)));
        assertEquals(List.of(
            "consistent_index=0000000000000309",
            "finishedCompactRev=" + HexFormat.of().formatHex(rev(120, 0, false)),
            "scheduledCompactRev=" + HexFormat.of().formatHex(rev(120, 0, false)),
            "term=0000000000000003"), meta);
        List<String> lease = new ArrayList<>();
        db.forEach(utf8("lease"), (k, v) -> lease.add(HexFormat.of().formatHex(k) + "=" + HexFormat.of().formatHex(v)));
        // leasepb.Lease{ID: 0x1234, TTL: 900}: field 1 varint, field 2 varint
        assertEquals(List.of("0000000000001234=08b424108407"), lease);
        List<String> auth = new ArrayList<>();
        db.forEach(utf8("auth"), (k, v) -> auth.add(new String(k, StandardCharsets.UTF_8) + "=" + HexFormat.of().formatHex(v)));
        assertEquals(List.of("authEnabled=01", "authRevision=0000000000000009"), auth);
        List<String> alarm = new ArrayList<>();
        db.forEach(utf8("alarm"), (k, v) -> alarm.add(HexFormat.of().formatHex(k) + "=" + v.length));
        assertEquals(List.of(HexFormat.of().formatHex(
            AlarmMember.newBuilder().setMemberID(0xaa).setAlarm(AlarmType.NOSPACE).build().toByteArray()) + "=0"), alarm);
      }
    }
  }

  @Test
  void theHashIsEtcdsOverTheExportedDatabaseWithoutTheConsistentIndex() throws Exception {
    try (Backend original = Backend.open(tmp.resolve("a"), false)) {
      fill(original);
      Map<String, List<EtcdDbExport.Row>> members = Map.of("members", List.of(new EtcdDbExport.Row(utf8("aa"), utf8("{\"id\":170}"))));
      EtcdDbExport.Hash h = EtcdDbExport.hash(original, members);
      assertEquals(305, h.revision(), "the store's revision (its meta row is above the last kv row)");
      java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
      try (BoltReader db = BoltReader.open(export(original))) {
        for (byte[] bucket : db.bucketNames()) {
          crc.update(bucket);
          boolean meta = new String(bucket, StandardCharsets.UTF_8).equals("meta");
          db.forEach(bucket, (k, v) -> {
            if (!(meta && new String(k, StandardCharsets.UTF_8).equals("consistent_index"))) {
              crc.update(k);
              crc.update(v);
            }
          });
        }
      }
      assertEquals(crc.getValue(), h.hash());
      try (WriteBatch w = new WriteBatch()) {
        w.put(original.meta(), MetaKeys.CONSISTENT_INDEX, MetaKeys.encode(778));
        original.commit(w, false);
      }
      assertEquals(h.hash(), EtcdDbExport.hash(original, members).hash(), "the applied index is not hashed");
    }
  }

  @Test
  void aFileWithoutEtcdsBucketsIsRefused() throws Exception {
    Path file = tmp.resolve("other.db");
    try (BoltWriter w = BoltWriter.create(file)) {
      w.beginBucket(utf8("key"));
      w.put(utf8("not-a-revision"), utf8("x"));
      w.beginBucket(utf8("meta"));
      w.finish();
    }
    try (BoltReader db = BoltReader.open(file); Backend b = Backend.open(tmp.resolve("c"), false)) {
      IOException e = assertThrows(IOException.class, () -> EtcdDbImport.load(db, b));
      assertTrue(e.getMessage().contains("not an etcd backend database"), e.getMessage());
    }
    Path empty = tmp.resolve("empty.db");
    try (BoltWriter w = BoltWriter.create(empty)) {
      w.beginBucket(utf8("other"));
      w.finish();
    }
    try (BoltReader db = BoltReader.open(empty); Backend b = Backend.open(tmp.resolve("d"), false)) {
      IOException e = assertThrows(IOException.class, () -> EtcdDbImport.load(db, b));
      assertEquals("not an etcd backend database (no \"key\" and \"meta\" buckets)", e.getMessage());
    }
  }

  @Test
  void leaseRowsAreLeasepbMessages() throws IOException {
    byte[] row = EtcdLeaseRow.encode(1, 900);
    assertArrayEquals(new byte[] {0x08, 0x01, 0x10, (byte) 0x84, 0x07}, row);
    assertEquals(new EtcdLeaseRow.Lease(1, 900), EtcdLeaseRow.decode(row));
    // etcd 3.4 also writes RemainingTTL (field 3) for checkpointed leases: skipped
    assertEquals(new EtcdLeaseRow.Lease(1, 900), EtcdLeaseRow.decode(new byte[] {0x08, 0x01, 0x10, (byte) 0x84, 0x07, 0x18, 0x05}));
  }
}
