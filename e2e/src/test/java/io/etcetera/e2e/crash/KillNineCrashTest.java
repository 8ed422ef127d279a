package io.etcetera.e2e.crash;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Durability of acknowledged writes across {@code kill -9}: 16 concurrent writers put fresh keys
 * {@code crash/<writer>/<seq>} (each key written once, value a deterministic function of the key)
 * through raw gRPC stubs (jetcd-grpc's generated {@code io.etcd.jetcd.api.KVGrpc}, plain grpc-java,
 * no client-side retries, so "acknowledged" means exactly "a PutResponse arrived"). After ~3 s,
 * while puts are in flight, the member is SIGKILLed and restarted on the same data dir. Then:
 *
 * <ul>
 *   <li>every acknowledged put is there, with exactly its value, and its mod (and create) revision
 *       is the revision the PutResponse reported;
 *   <li>no key holds a value that was never written and no key exists that was never attempted;
 *       unacknowledged in-flight puts may or may not be there (both are correct);
 *   <li>every present key has a distinct revision (one put, one revision);
 *   <li>the store revision is at least the highest acknowledged revision, and (only puts of fresh
 *       keys ever happen) equals the highest mod revision in the keyspace;
 *   <li>writes work again: the next put gets exactly store revision + 1.
 * </ul>
 *
 * Three kill/restart cycles, accumulating the acknowledged set. Runs against Etcetera;
 * {@code -De2e.binary=etcd} runs it against the real etcd (the reference).
 */
class KillNineCrashTest {

  private static final int WRITERS = 16;
  private static final int CYCLES = 3;
  private static final long WRITE_MILLIS = 3_000;
  /** Bound on puts per writer per cycle (the time bound is the real limit). */
  private static final int MAX_PUTS_PER_WRITER_PER_CYCLE = 200_000;
  private static final long PUT_DEADLINE_MILLIS = 2_000;
  private static final long READ_DEADLINE_MILLIS = 15_000;

  /** An acknowledged put: the value sent and the revision of its response header. */
  record Ack(String value, long revision) {}

  @Test
  @Timeout(value = 115, unit = TimeUnit.SECONDS)
  void acknowledgedPutsSurviveKillNine(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    Map<String, Ack> acked = new ConcurrentHashMap<>();
    long[] nextSeq = new long[WRITERS]; // writer w owns nextSeq[w]; read by the test thread after the join
    ExecutorService pool = Executors.newFixedThreadPool(WRITERS, r -> {
      Thread t = new Thread(r, "crash-writer");
      t.setDaemon(true);
      return t;
    });
    try (Member m = Member.start(Binary.fromSystemProperty(), work.resolve("member"), a)) {
      for (int cycle = 1; cycle <= CYCLES; cycle++) {
        long cycleStart = System.nanoTime();
        ManagedChannel ch = channel(m);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong killAt = new AtomicLong(Long.MAX_VALUE);
        AtomicLong straddling = new AtomicLong(); // puts started before the kill and finished after it
        AtomicLong failed = new AtomicLong();
        int ackedBefore = acked.size();
        List<Future<?>> writers = new ArrayList<>();
        try {
          for (int w = 0; w < WRITERS; w++) {
            final int writer = w;
            writers.add(pool.submit(() -> {
              KVGrpc.KVBlockingStub stub = KVGrpc.newBlockingStub(ch);
              for (int n = 0; n < MAX_PUTS_PER_WRITER_PER_CYCLE && !stop.get(); n++) {
                long seq = nextSeq[writer]++;
                String key = key(writer, seq);
                String value = payload(key);
                long started = System.nanoTime();
                try {
                  PutResponse r = stub.withDeadlineAfter(PUT_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
                      .put(PutRequest.newBuilder().setKey(bytes(key)).setValue(bytes(value)).build());
                  acked.put(key, new Ack(value, r.getHeader().getRevision()));
                } catch (StatusRuntimeException e) {
                  failed.incrementAndGet();
                  if (!stop.get()) sleepQuietly(20); // member is down: do not spin
                } finally {
                  if (started < killAt.get() && System.nanoTime() > killAt.get()) straddling.incrementAndGet();
                }
              }
              return null;
            }));
          }
          Thread.sleep(WRITE_MILLIS);
          int ackedAtKill = acked.size() - ackedBefore;
          assertTrue(ackedAtKill > 0, "cycle " + cycle + ": no put was acknowledged in " + WRITE_MILLIS
              + " ms\n" + m.logTail(60));
          killAt.set(System.nanoTime());
          m.kill9();
          Thread.sleep(300); // writers now see the dead member
          stop.set(true);
          for (Future<?> f : writers) f.get(PUT_DEADLINE_MILLIS + 10_000, TimeUnit.MILLISECONDS);
        } finally {
          stop.set(true);
          ch.shutdownNow();
          ch.awaitTermination(5, TimeUnit.SECONDS);
        }
        assertTrue(straddling.get() > 0, "cycle " + cycle + ": no put was in flight when the member was killed");
        long killedAfterMillis = TimeUnit.NANOSECONDS.toMillis(killAt.get() - cycleStart);

        long restartStart = System.nanoTime();
        m.restart();
        long restartMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartStart);

        Verification v = verify(m, acked, nextSeq, cycle);
        System.out.printf("KillNineCrashTest cycle %d: killed after %d ms with %d puts in flight; "
                + "acknowledged %d this cycle (%d total), %d failed/unknown; restart took %d ms; "
                + "store revision %d, %d keys present, %d applied but unacknowledged%n",
            cycle, killedAfterMillis, straddling.get(), acked.size() - ackedBefore, acked.size(), failed.get(),
            restartMillis, v.storeRevision, v.present, v.presentUnacked);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private record Verification(long storeRevision, int present, int presentUnacked) {}

  private Verification verify(Member m, Map<String, Ack> acked, long[] nextSeq, int cycle) throws Exception {
    ManagedChannel ch = channel(m);
    try {
      KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
      String ctx = "after kill -9 #" + cycle + ": ";

      RangeResponse all = kv.withDeadlineAfter(READ_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
          .range(RangeRequest.newBuilder().setKey(bytes("crash/")).setRangeEnd(bytes("crash0")).build());
      long storeRevision = all.getHeader().getRevision();
      assertEquals(all.getCount(), all.getKvsCount(), ctx + "unlimited range returned a partial result");

      Map<String, KeyValue> present = new HashMap<>();
      Map<Long, String> byRevision = new HashMap<>();
      for (KeyValue e : all.getKvsList()) {
        String key = e.getKey().toStringUtf8();
        present.put(key, e);
        String[] parts = key.split("/");
        assertEquals(3, parts.length, ctx + "unexpected key " + key);
        int writer = Integer.parseInt(parts[1]);
        long seq = Long.parseLong(parts[2]);
        assertTrue(writer >= 0 && writer < WRITERS && seq < nextSeq[writer],
            ctx + "key " + key + " was never written (writer " + writer + " attempted seq < " + (writer >= 0
                && writer < WRITERS ? nextSeq[writer] : -1) + ")");
        assertEquals(payload(key), e.getValue().toStringUtf8(), ctx + "value of " + key + " was never written");
        assertEquals(1, e.getVersion(), ctx + "version of " + key + " (each key is put once)");
        assertEquals(e.getCreateRevision(), e.getModRevision(), ctx + "create vs mod revision of " + key);
        assertTrue(e.getModRevision() <= storeRevision, ctx + key + " has mod revision " + e.getModRevision()
            + " above the store revision " + storeRevision);
        String other = byRevision.put(e.getModRevision(), key);
        assertTrue(other == null, ctx + key + " and " + other + " both claim revision " + e.getModRevision());
      }

      long maxAcked = 0;
      Map<Long, String> ackRevisions = new HashMap<>();
      List<String> lost = new ArrayList<>();
      for (Map.Entry<String, Ack> en : acked.entrySet()) {
        String key = en.getKey();
        Ack ack = en.getValue();
        maxAcked = Math.max(maxAcked, ack.revision());
        String dup = ackRevisions.put(ack.revision(), key);
        assertTrue(dup == null, ctx + "puts of " + key + " and " + dup + " were both acknowledged with revision "
            + ack.revision());
        KeyValue e = present.get(key);
        if (e == null) {
          lost.add(key + "@" + ack.revision());
          continue;
        }
        assertEquals(ack.value(), e.getValue().toStringUtf8(), ctx + "value of acknowledged " + key);
        assertEquals(ack.revision(), e.getModRevision(), ctx + "mod revision of acknowledged " + key);
      }
      if (!lost.isEmpty()) {
        lost.sort(null);
        throw new AssertionError(ctx + lost.size() + " of " + acked.size() + " acknowledged puts are lost "
            + "(store revision " + storeRevision + ", highest acknowledged " + maxAcked + "), e.g. "
            + lost.subList(0, Math.min(20, lost.size())) + "\n--- member log tail:\n" + m.logTail(60));
      }
      assertTrue(storeRevision >= maxAcked, ctx + "store revision " + storeRevision
          + " is below the highest acknowledged revision " + maxAcked);

      // only fresh keys are ever put: the store revision is the newest mod revision in the keyspace
      RangeResponse newest = kv.withDeadlineAfter(READ_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
          .range(RangeRequest.newBuilder().setKey(ByteString.copyFrom(new byte[] {0}))
              .setRangeEnd(ByteString.copyFrom(new byte[] {0})).setKeysOnly(true).setLimit(1)
              .setSortTarget(RangeRequest.SortTarget.MOD).setSortOrder(RangeRequest.SortOrder.DESCEND).build());
      assertEquals(1, newest.getKvsCount(), ctx + "keyspace is empty");
      assertEquals(storeRevision, newest.getKvs(0).getModRevision(),
          ctx + "store revision vs the newest key's mod revision (" + newest.getKvs(0).getKey().toStringUtf8() + ")");

      // writes work again, and continue the revision sequence without a gap
      String probe = "probe/" + cycle;
      PutResponse p = kv.withDeadlineAfter(READ_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
          .put(PutRequest.newBuilder().setKey(bytes(probe)).setValue(bytes("alive")).build());
      assertEquals(storeRevision + 1, p.getHeader().getRevision(), ctx + "revision of the first put after restart");
      RangeResponse back = kv.withDeadlineAfter(READ_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
          .range(RangeRequest.newBuilder().setKey(bytes(probe)).build());
      assertEquals(1, back.getKvsCount(), ctx + "probe key not readable");
      assertEquals("alive", back.getKvs(0).getValue().toStringUtf8());
      assertEquals(p.getHeader().getRevision(), back.getKvs(0).getModRevision());

      int presentUnacked = 0;
      for (String k : present.keySet()) if (!acked.containsKey(k)) presentUnacked++;
      assertNotNull(all.getHeader());
      return new Verification(storeRevision, present.size(), presentUnacked);
    } finally {
      ch.shutdownNow();
      ch.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static ManagedChannel channel(Member m) {
    return NettyChannelBuilder.forAddress(m.host(), m.clientPort())
        .usePlaintext()
        .maxInboundMessageSize(512 * 1024 * 1024)
        .build();
  }

  static String key(int writer, long seq) {
    return String.format("crash/%02d/%08d", writer, seq);
  }

  /** The only value ever written to {@code key}. */
  static String payload(String key) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(UTF_8));
      return "v|" + key + "|" + HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ByteString bytes(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
