package io.etcetera.mvcc.kv;

import static io.etcetera.mvcc.testutil.Req.bs;
import static io.etcetera.mvcc.testutil.Req.op;
import static io.etcetera.mvcc.testutil.Req.put;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.testutil.KvFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * One writer (the apply thread) and four readers ranging at the current revision and at older
 * ones. Readers never see a revision above the published one, never miss a row, see each
 * revision exactly as it was written, and see revisions in non-decreasing order.
 */
class ConcurrentReadTest {
  private static final int WRITES = 3000;
  private static final int READERS = 4;
  private static final byte[] ALL = {0};

  @TempDir
  Path dir;

  /** State after each revision, recorded before the write that produces it is applied. */
  private final Map<Long, List<KeyValue>> expected = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();

  /**
   * With compactions, a read of the latest revision that a compaction overtakes must still answer
   * (etcd's Compact waits for reads in progress); without, the plain publication rules.
   */
  @ParameterizedTest(name = "compactions: {0}")
  @ValueSource(booleans = {false, true})
  void readersSeeOnlyPublishedCompleteRevisionsInOrder(boolean compactions) throws Exception {
    try (KvFixture kv = KvFixture.openNoFsync(dir)) {
      MvccStore store = kv.store();
      expected.put(1L, List.of());
      AtomicBoolean done = new AtomicBoolean();
      AtomicLong reads = new AtomicLong();
      AtomicLong compactedReads = new AtomicLong();
      CountDownLatch started = new CountDownLatch(READERS);
      List<Thread> readers = new ArrayList<>();
      for (int i = 0; i < READERS; i++) {
        long seed = 100 + i;
        Thread t = new Thread(() -> {
          started.countDown();
          try {
            read(store, seed, done, reads, compactedReads);
          } catch (Throwable e) {
            failures.add(e);
          }
        }, "reader-" + i);
        t.start();
        readers.add(t);
      }
      assertTrue(started.await(10, TimeUnit.SECONDS));
      try {
        write(kv, compactions);
      } finally {
        done.set(true);
        for (Thread t : readers) {
          t.join(TimeUnit.SECONDS.toMillis(30));
        }
      }
      if (!failures.isEmpty()) {
        AssertionError e = new AssertionError(failures.size() + " reader failures, first: " + failures.peek());
        failures.forEach(e::addSuppressed);
        throw e;
      }
      assertTrue(reads.get() > READERS, "readers read " + reads.get() + " times");
      assertEquals(expected.get(store.currentRevision()), store.range(ALL, ALL, 0, 0, false).kvs());
    }
  }

  private void write(KvFixture kv, boolean compactions) {
    Random rnd = new Random(42);
    TreeMap<String, KeyValue> state = new TreeMap<>();
    long rev = 1;
    long compacted = 0;
    for (int i = 0; i < WRITES; i++) {
      int c = rnd.nextInt(100);
      if (c < 65) {
        String k = "k" + rnd.nextInt(20);
        record(state, k, "v" + i, rev + 1);
        expected.put(rev + 1, List.copyOf(state.values()));
        kv.put(k, "v" + i);
        rev++;
      } else if (c < 80) {
        String k = "k" + rnd.nextInt(20);
        if (state.remove(k) != null) {
          expected.put(rev + 1, List.copyOf(state.values()));
          rev++;
        }
        kv.delete(k);
      } else if (c < 95) {
        TxnRequest.Builder t = Req.txn();
        int first = rnd.nextInt(18);
        for (int j = 0; j < 3; j++) {
          String k = "k" + (first + j);
          record(state, k, "t" + i, rev + 1);
          t.addSuccess(op(put(k, "t" + i)));
        }
        expected.put(rev + 1, List.copyOf(state.values()));
        kv.txn(t.build());
        rev++;
      } else if (compactions && rev - 40 > compacted) {
        compacted = rev - 40;
        kv.compaction(compacted, rnd.nextBoolean());
      }
      assertEquals(rev, kv.currentRevision());
    }
  }

  private static void record(TreeMap<String, KeyValue> state, String k, String v, long rev) {
    KeyValue prev = state.get(k);
    state.put(k, KeyValue.newBuilder().setKey(bs(k)).setValue(bs(v))
        .setCreateRevision(prev == null ? rev : prev.getCreateRevision())
        .setModRevision(rev)
        .setVersion(prev == null ? 1 : prev.getVersion() + 1)
        .build());
  }

  private void read(MvccStore store, long seed, AtomicBoolean done, AtomicLong reads, AtomicLong compactedReads) {
    Random rnd = new Random(seed);
    long lastSeen = 0;
    while (!done.get()) {
      long before = store.currentRevision();
      RangeResult now;
      try {
        now = store.range(ALL, ALL, 0, 0, false);
      } catch (EtcdException e) {
        throw new AssertionError("a read of the current revision failed with " + e.error() + ": current was "
            + before + " when it started, " + store.currentRevision() + " now; compacted at "
            + store.compactRevision(), e);
      }
      long after = store.currentRevision();
      long h = now.headerRevision();
      assertTrue(before <= h && h <= after, "header " + h + " outside [" + before + ", " + after + "]");
      assertTrue(h >= lastSeen, "revision went back from " + lastSeen + " to " + h);
      lastSeen = h;
      assertEquals(expected.get(h), now.kvs(), "state at revision " + h);
      assertEquals(now.kvs().size(), now.count());
      for (KeyValue x : now.kvs()) {
        assertTrue(x.getModRevision() <= h, "row from revision " + x.getModRevision() + " above " + h);
      }
      // an older revision, possibly racing a compaction
      long low = store.compactRevision();
      long r = low + (h > low ? rnd.nextLong(h - low + 1) : 0);
      if (r >= 1) {
        try {
          RangeResult old = store.range(ALL, ALL, r, rnd.nextInt(3), rnd.nextInt(5) == 0);
          List<KeyValue> want = expected.get(r);
          if (old.kvs().isEmpty() && old.count() > 0) {
            assertEquals(want.size(), old.count(), "count at " + r);
          } else {
            assertEquals(want.subList(0, old.kvs().size()), old.kvs(), "state at revision " + r);
            assertEquals(want.size(), old.count(), "count at " + r);
          }
        } catch (EtcdException e) {
          assertEquals(EtcdError.COMPACTED, e.error());
          assertTrue(store.compactRevision() > r, "compacted read at " + r + " above " + store.compactRevision());
          compactedReads.incrementAndGet();
        }
      }
      reads.incrementAndGet();
    }
  }
}
