package io.etcetera.e2e.differential;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import io.etcetera.mvcc.bolt.BoltReader;
import io.etcetera.mvcc.bolt.BoltWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * The bbolt file format against the real etcd 3.4.23 and its bbolt: {@link BoltReader} reads an
 * {@code etcdctl snapshot save} file of a real etcd with the same buckets, row count, revision,
 * size and CRC-32C that {@code etcdctl snapshot status} reports; a file written by {@link
 * BoltWriter} passes {@code snapshot status} (which runs bbolt's {@code tx.Check}) with the hash of
 * exactly the rows written, is restored by {@code etcdctl snapshot restore}, the restored
 * {@code member/snap/db} (rewritten by real bbolt) is read back by {@link BoltReader}, and a real
 * etcd started on the restored data dir serves the keys.
 *
 * <p>{@code snapshot status} hashes, for each top-level bucket in order, its name and then every key
 * and value, with CRC-32C (Castagnoli); totalKey counts the rows of all buckets, revision is the main
 * revision of the last key of bucket "key", totalSize is bbolt's {@code tx.Size()}.
 */
class BoltFormatTest {

  private static final List<String> ETCD_BUCKETS = List.of(
      "alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease", "members", "members_removed", "meta");

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String s(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  /** etcd's revision key: 8-byte big-endian main, '_', 8-byte big-endian sub (+ 't' for a tombstone). */
  private static byte[] revKey(long main, long sub, boolean tombstone) {
    ByteBuffer k = ByteBuffer.allocate(tombstone ? 18 : 17).putLong(main).put((byte) '_').putLong(sub);
    if (tombstone) k.put((byte) 't');
    return k.array();
  }

  private static Etcdctl.Result offline(String... args) {
    return Etcdctl.exec(List.of(), null, Etcdctl.PROCESS_TIMEOUT, args);
  }

  /** What {@code snapshot status} computes, from the file as {@link BoltReader} sees it. */
  private record Summary(Map<String, Long> rowsPerBucket, long totalKey, long hash, byte[] lastKeyOfKeyBucket) {}

  private static Summary summarize(BoltReader r) throws IOException {
    Map<String, Long> rows = new LinkedHashMap<>();
    CRC32C crc = new CRC32C();
    long total = 0;
    byte[][] last = new byte[1][];
    for (byte[] name : r.bucketNames()) {
      crc.update(name);
      long[] n = {0};
      boolean keyBucket = s(name).equals("key");
      r.forEach(name, (k, v) -> {
        crc.update(k);
        crc.update(v);
        n[0]++;
        if (keyBucket) last[0] = k;
      });
      rows.put(s(name), n[0]);
      total += n[0];
    }
    return new Summary(rows, total, crc.getValue(), last[0]);
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void aRealEtcdSnapshotIsReadWithTheRowsRevisionSizeAndHashThatSnapshotStatusReports(TestInfo info)
      throws IOException {
    Path work = Workdirs.of(info);
    Path snapshot = work.resolve("etcd.snapshot.db");
    String bigValue = "B".repeat(100_000);
    long revision;
    Ports.Address a = Ports.allocate();
    try (Member m = Member.realEtcd(work.resolve("etcd"), a.host(), a.port())) {
      String ep = m.endpoint();
      // 2,000 keys in 20 txns of 100 puts: revisions 2..21, sub-revisions 0..99
      for (int t = 0; t < 20; t++) {
        StringBuilder txn = new StringBuilder("\n");
        for (int i = 0; i < 100; i++) {
          int n = t * 100 + i;
          txn.append(String.format("put key/%04d value-%04d-%s%n", n, n, "x".repeat(n % 97)));
        }
        txn.append("\n\n");
        Etcdctl.runWithStdin(ep, txn.toString(), "txn").ok();
      }
      for (int i = 1; i <= 3; i++) Etcdctl.run(ep, "put", "big/" + i, bigValue).ok(); // 22..24
      Etcdctl.run(ep, "put", "key/0001", "overwritten").ok(); // 25
      Etcdctl.run(ep, "del", "key/0005").ok(); // 26: one tombstone
      Etcdctl.run(ep, "del", "key/01", "--prefix").ok(); // 27: 100 tombstones (key/0100..key/0199)
      JsonNode got = Etcdctl.run(ep, "get", "key/0001", "-w", "json").json();
      revision = got.get("header").get("revision").asLong();
      assertEquals(27, revision, got.toString());
      Etcdctl.run(ep, "snapshot", "save", snapshot.toString()).ok();
    }

    JsonNode status = offline("snapshot", "status", snapshot.toString(), "-w", "json").json();
    long fileSize = Files.size(snapshot);
    // etcd 3.4 appends the sha256 of the db: the file is the db plus 32 bytes
    assertEquals(32, fileSize % 512, "snapshot size " + fileSize);
    try (BoltReader r = BoltReader.open(snapshot)) {
      assertEquals(4096, r.pageSize());
      assertEquals(fileSize - 32, r.size());
      assertEquals(status.get("totalSize").asLong(), r.size(), status.toString());

      List<String> names = new ArrayList<>();
      for (byte[] n : r.bucketNames()) names.add(s(n));
      assertTrue(names.containsAll(List.of("key", "meta", "members", "members_removed", "cluster", "lease")),
          names.toString());
      assertEquals(ETCD_BUCKETS, names, "the buckets etcd 3.4 creates, in bbolt's order");
      for (String n : names) assertTrue(r.hasBucket(b(n)), n);
      assertFalse(r.hasBucket(b("nope")));

      Summary sum = summarize(r);
      // 2000 txn puts + 3 big + 1 overwrite + 1 + 100 tombstones
      assertEquals(2105, sum.rowsPerBucket().get("key"), sum.rowsPerBucket().toString());
      assertEquals(status.get("totalKey").asLong(), sum.totalKey(), sum.rowsPerBucket() + " vs " + status);
      assertEquals(status.get("hash").asLong(), sum.hash(), "CRC-32C of all buckets' names, keys and values");
      assertEquals(status.get("revision").asLong(), ByteBuffer.wrap(sum.lastKeyOfKeyBucket()).getLong());
      assertEquals(revision, status.get("revision").asLong());

      // every row of "key" is an mvccpb.KeyValue at the revision its key names
      int[] tombstones = {0};
      int[] bigSeen = {0};
      r.forEach(b("key"), (k, v) -> {
        KeyValue kv = KeyValue.parseFrom(v);
        long main = ByteBuffer.wrap(k).getLong();
        if (k.length == 18 && k[17] == 't') {
          tombstones[0]++;
          assertTrue(kv.getKey().toStringUtf8().startsWith("key/0"), kv.toString());
        } else {
          assertEquals(17, k.length);
          assertEquals(main, kv.getModRevision(), kv.toString());
          if (kv.getKey().toStringUtf8().startsWith("big/")) {
            bigSeen[0]++;
            assertEquals(bigValue, kv.getValue().toStringUtf8());
          }
        }
      });
      assertEquals(101, tombstones[0]);
      assertEquals(3, bigSeen[0]);
      // etcd keeps small buckets inline (bucket header root 0): "members", "meta", "cluster" here
      assertEquals(1, sum.rowsPerBucket().get("members"), sum.rowsPerBucket().toString());
      assertEquals(0, sum.rowsPerBucket().get("lease"), sum.rowsPerBucket().toString());
      long[] consistentIndex = {-1};
      r.forEach(b("meta"), (k, v) -> {
        if (s(k).equals("consistent_index")) consistentIndex[0] = ByteBuffer.wrap(v).getLong();
      });
      assertTrue(consistentIndex[0] > 0, "meta/consistent_index");
    }
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void aBoltWriterFilePassesSnapshotStatusRestoresAndIsServedByRealEtcd(TestInfo info) throws IOException {
    Path work = Workdirs.of(info);
    Path file = work.resolve("written.db");
    Map<String, List<byte[][]>> buckets = new LinkedHashMap<>();

    List<byte[][]> odd = new ArrayList<>(); // not an etcd bucket: restore leaves it alone
    Random random = new Random(42);
    byte[] tenK = new byte[10 * 1024];
    byte[] big = new byte[1_500_000];
    random.nextBytes(tenK);
    random.nextBytes(big);
    odd.add(new byte[][] {b("a-empty"), new byte[0]});
    odd.add(new byte[][] {b("b-10k"), tenK});
    odd.add(new byte[][] {b("c-1.5m"), big});
    odd.add(new byte[][] {b("d-long-key-" + "k".repeat(20_000)), b("v")});
    for (int i = 0; i < 500; i++) odd.add(new byte[][] {b(String.format("e-%03d", i)), b("row " + i)});
    buckets.put("bolt_test", odd);

    // "key": 20,000 puts at revisions 2..20001, a txn of three puts at 20002, a delete at 20003
    List<byte[][]> keys = new ArrayList<>();
    for (int i = 1; i <= 20_000; i++) {
      long rev = i + 1;
      keys.add(new byte[][] {revKey(rev, 0, false), kv(String.format("k%05d", i), "v" + i, rev)});
    }
    for (int sub = 0; sub < 3; sub++) {
      keys.add(new byte[][] {revKey(20_002, sub, false), kv("txn-" + sub, "t" + sub, 20_002)});
    }
    keys.add(new byte[][] {revKey(20_003, 0, true),
        KeyValue.newBuilder().setKey(ByteString.copyFromUtf8("k00002")).build().toByteArray()});
    long lastRevision = 20_003;
    buckets.put("key", keys);
    buckets.put("lease", new ArrayList<>()); // an empty bucket
    List<byte[][]> meta = new ArrayList<>();
    meta.add(new byte[][] {b("consistent_index"), ByteBuffer.allocate(8).putLong(7).array()});
    buckets.put("meta", meta);

    CRC32C crc = new CRC32C();
    long rows = 0;
    long size;
    try (BoltWriter w = BoltWriter.create(file)) {
      for (Map.Entry<String, List<byte[][]>> e : buckets.entrySet()) {
        w.beginBucket(b(e.getKey()));
        crc.update(b(e.getKey()));
        for (byte[][] row : e.getValue()) {
          w.put(row[0], row[1]);
          crc.update(row[0]);
          crc.update(row[1]);
          rows++;
        }
      }
      size = w.finish();
    }
    assertEquals(Files.size(file), size);

    // bbolt opens it, tx.Check finds nothing wrong, and it sees exactly these rows
    JsonNode status = offline("snapshot", "status", file.toString(), "-w", "json").json();
    assertEquals(rows, status.get("totalKey").asLong(), status.toString());
    assertEquals(lastRevision, status.get("revision").asLong(), status.toString());
    assertEquals(size, status.get("totalSize").asLong(), status.toString());
    assertEquals(crc.getValue(), status.get("hash").asLong(), "CRC-32C over names, keys and values: " + status);
    try (BoltReader r = BoltReader.open(file)) {
      assertEquals(crc.getValue(), summarize(r).hash());
    }

    // restore (no sha256 appended: the size is a multiple of 512) into a data dir for a member
    Ports.Address a = Ports.allocate();
    String name = "e2e-" + a.port();
    String peer = "http://" + a.host() + ":" + (a.port() + 1);
    Path restored = work.resolve("restored");
    offline("snapshot", "restore", file.toString(), "--data-dir", restored.toString(), "--skip-hash-check",
        "--name", name, "--initial-cluster", name + "=" + peer, "--initial-advertise-peer-urls", peer).ok();

    Path db = restored.resolve("member").resolve("snap").resolve("db");
    try (BoltReader r = BoltReader.open(db)) {
      assertTrue(r.txid() > 1, "restore committed bbolt transactions: txid " + r.txid());
      for (String bucket : List.of("bolt_test", "key")) {
        List<byte[][]> expected = buckets.get(bucket);
        int[] i = {0};
        r.forEach(b(bucket), (k, v) -> {
          int n = i[0]++;
          assertTrue(n < expected.size(), bucket + ": more rows than written");
          assertArrayEquals(expected.get(n)[0], k, bucket + " key #" + n);
          assertArrayEquals(expected.get(n)[1], v, bucket + " value #" + n);
        });
        assertEquals(expected.size(), i[0], bucket + " rows");
      }
      assertTrue(r.hasBucket(b("lease")));
      Map<String, byte[]> metaRows = new LinkedHashMap<>();
      r.forEach(b("meta"), (k, v) -> metaRows.put(s(k), v));
      // restore rewrites the consistent index: one member, index 1
      assertEquals(1, ByteBuffer.wrap(metaRows.get("consistent_index")).getLong(), metaRows.keySet().toString());
    }

    try (Member m = Member.realEtcd(restored, a.host(), a.port())) {
      String ep = m.endpoint();
      assertEquals(List.of("k00001", "v1"), Etcdctl.run(ep, "get", "k00001").lines());
      assertEquals(List.of("k20000", "v20000"), Etcdctl.run(ep, "get", "k20000").lines());
      assertEquals(List.of(), Etcdctl.run(ep, "get", "k00002").lines(), "deleted at 20003");
      assertEquals(List.of("k00002", "v2"), Etcdctl.run(ep, "get", "k00002", "--rev=20002").lines());
      assertEquals(List.of("txn-1", "t1"), Etcdctl.run(ep, "get", "txn-1").lines());
      JsonNode counted = Etcdctl.run(ep, "get", "k", "--prefix", "--keys-only", "--limit=1", "-w", "json").json();
      assertEquals(19_999, counted.get("count").asLong(), counted.toString());
      assertEquals(lastRevision, counted.get("header").get("revision").asLong(), counted.toString());
    }
  }

  /** An mvccpb.KeyValue as etcd stores it for a put of a new key. */
  private static byte[] kv(String key, String value, long revision) {
    return KeyValue.newBuilder()
        .setKey(ByteString.copyFromUtf8(key))
        .setValue(ByteString.copyFromUtf8(value))
        .setCreateRevision(revision)
        .setModRevision(revision)
        .setVersion(1)
        .build()
        .toByteArray();
  }
}
