package io.etcetera.e2e.watch;

import static io.etcetera.e2e.watch.WatchRpc.bs;
import static io.etcetera.e2e.watch.WatchRpc.prefixEnd;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.ResponseOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.etcd.jetcd.api.WatchCancelRequest;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Watch under load, with resumes and compaction, checked event by event against the committed
 * history.
 *
 * <p>One member. {@value #WRITERS} writers (plain gRPC stubs, one request at a time each) put,
 * delete, range-delete and run multi-key txns (compare on a key's existence, several puts and
 * deletes of distinct keys per branch) on 34 keys under {@code /t/a}, {@code /t/a0}, {@code
 * /t/ab}, {@code /t/a/}, {@code /t/ab/}, {@code /t/b/}, {@code /t/c/} (overlapping prefixes and
 * range boundaries). Every write asks for prev_kv, and every acknowledged write is recorded with
 * the revision of its response header and what it did (the executed txn branch, the deleted
 * keys), so the whole committed history is known exactly: replaying it in revision order gives,
 * for every revision, its events (key, value, create/mod revision, version) and each event's
 * previous key-value. The replay first checks the history itself: every revision from 2 to the
 * last is exactly one acknowledged write, each write's reported prev_kv/deleted keys and txn
 * outcome match the replayed state, and writes that changed nothing carry the current revision.
 *
 * <p>{@value #WATCHERS} watchers on 5 watch streams (some streams multiplex two watchers): prefix
 * {@code /t/a}, prefix {@code /t/a/} with prev_kv, the single key {@code /t/a/1} with prev_kv,
 * from-key {@code /t/} (range end "\0") with prev_kv, the range {@code [/t/a/, /t/b/x)}, prefix
 * {@code /t/ab/} with the NODELETE filter, prefix {@code /t/c/} with prev_kv, and the whole
 * keyspace. Like a client, each first lists its range and watches from the list revision + 1. At
 * random moments a watcher is cancelled (cancel request), its stream is dropped (client-side
 * cancel of the gRPC call, taking its neighbour along), or its stream stops reading for a while;
 * it then resumes, after a random pause, from its last seen revision + 1. A compactor compacts to
 * (newest revision - {@value #COMPACT_KEEP}) every {@value #COMPACT_EVERY_MILLIS} ms: a watcher
 * whose resume revision was compacted gets a compacted cancel, re-lists its range at the current
 * revision (the list is checked against the replayed state at that revision) and watches from
 * there; its check restarts at that point.
 *
 * <p>Every watch (one create, until its cancel or drop) is a segment, checked against the
 * expected events of its range from its start revision:
 *
 * <ul>
 *   <li>the received events are exactly a prefix of the expected ones: every revision in order,
 *       no gap, no duplicate, each event's type and whole kv (key, value, create_revision,
 *       mod_revision, version, lease; a delete's kv is key and mod_revision only) as committed;
 *       the last segment of each watcher has all of them up to the final revision;
 *   <li>prev_kv is exactly the previous key-value where requested (and absent for creations and
 *       where not requested); it may be missing only if a compaction at or above the event's
 *       revision had been issued (etcd reads it at revision - 1 and sends the event without it),
 *       or in events that arrive after the client asked to cancel the watch (etcd 3.4 forgets a
 *       watch's prev_kv option when it processes the cancel, before the events still queued for
 *       it are sent);
 *   <li>a watch that starts exactly at a revision that was compacted may lack the DELETE events of
 *       that revision: etcd's compaction removes a tombstone at the compaction revision, and etcd
 *       and Etcetera alike then cannot deliver it (counted in the report);
 *   <li>the events of one revision are never split across responses (no fragmenting is asked);
 *   <li>a compacted cancel names a compact revision above the watcher's resume revision and not
 *       above the highest compaction issued; the server never cancels a watch on its own
 *       otherwise, never sends a response for an unknown watch id, never ends a stream.
 * </ul>
 *
 * Runs against Etcetera; {@code -De2e.binary=etcd} runs it against the real etcd (the reference).
 */
class WatchTortureTest {

  private static final int WRITERS = 4;
  private static final int WATCHERS = 8;
  private static final long LOAD_MILLIS = 16_000;
  private static final int MAX_WRITES_PER_WRITER = 100_000;
  private static final long COMPACT_KEEP = 200;
  private static final long COMPACT_EVERY_MILLIS = 700;
  private static final long CHAOS_EVERY_MILLIS = 150;
  private static final long RPC_DEADLINE_MILLIS = 10_000;
  private static final long DRAIN_MILLIS = 30_000;
  private static final int MAX_REPORTED = 25;

  private static final List<String> KEYS = keys();
  private static final String[][] RANGE_DELETES = {
      {"/t/c/2", "/t/c/6"}, {"/t/c/", "/t/c0"}, {"/t/ab/", "/t/ab0"}, {"/t/b/", "/t/b/x"}};

  private static List<String> keys() {
    List<String> k = new ArrayList<>(List.of("/t/a", "/t/a0", "/t/ab", "/t/b/w", "/t/b/x", "/t/b/y"));
    for (int i = 0; i < 8; i++) k.add("/t/a/" + i);
    for (int i = 0; i < 6; i++) k.add("/t/ab/" + i);
    for (int i = 0; i < 6; i++) k.add("/t/b/" + i);
    for (int i = 0; i < 8; i++) k.add("/t/c/" + i);
    return List.copyOf(k);
  }

  // ---------------------------------------------------------------------------------------------
  // the history: what writers did

  /** One executed operation of a write and what the server reported about the state before it. */
  record Exec(boolean put, String key, String end, String value, KeyValue reportedPrev,
      List<KeyValue> reportedDeleted, long deleted) {
    String describe() {
      return put ? "put " + key + "=" + value : "delete " + key + (end == null ? "" : ".." + end)
          + " (deleted " + deleted + ")";
    }
  }

  /** An acknowledged write: its response revision and the operations it executed. */
  record Write(int writer, long seq, long revision, boolean txn, String compareKey, boolean succeeded,
      List<Exec> ops) {
    boolean changed() {
      for (Exec e : ops) if (e.put || e.deleted > 0) return true;
      return false;
    }

    String describe() {
      StringBuilder b = new StringBuilder("writer " + writer + " #" + seq + " @" + revision + ": ");
      if (txn) b.append("txn(if exists ").append(compareKey).append(" -> ").append(succeeded).append(") ");
      for (Exec e : ops) b.append('[').append(e.describe()).append(']');
      return b.toString();
    }
  }

  /** One committed event: type, full kv as a watcher must see it, and the previous kv (or null). */
  record Expected(long rev, Event.EventType type, String key, KeyValue kv, KeyValue prev) {}

  // ---------------------------------------------------------------------------------------------
  // the watchers

  record Spec(String name, String key, String end, boolean prevKv, boolean noDelete) {
    boolean contains(String k) {
      if (end.isEmpty()) return k.equals(key);
      if (end.equals("\0")) return k.compareTo(key) >= 0;
      return k.compareTo(key) >= 0 && k.compareTo(end) < 0;
    }

    boolean matches(Expected e) {
      return contains(e.key) && !(noDelete && e.type == Event.EventType.DELETE);
    }
  }

  enum State { NEEDS_LIST, IDLE, CREATING, ACTIVE, CANCELING }

  /** One response carrying events, as received. */
  record Resp(long headerRevision, List<Event> events, long compactionIssued, boolean afterCancelRequest) {}

  /** One watch: from its create (start revision) to its cancel, compacted cancel or drop. */
  static final class Segment {
    final long start;
    final String origin;
    final List<Resp> resps = new ArrayList<>();
    String end = "open";
    long compactRevision;
    long nextStartAtCompaction;
    long compactionIssuedAtCancel;

    Segment(long start, String origin) {
      this.start = start;
      this.origin = origin;
    }

    int events() {
      int n = 0;
      for (Resp r : resps) n += r.events.size();
      return n;
    }
  }

  /** A list (range read) of a watcher's range, made before it watches from revision + 1. */
  record Listing(Watcher watcher, long revision, List<KeyValue> kvs) {}

  final class Watcher {
    final int idx;
    final Spec spec;
    final Conn conn;
    // guarded by conn
    State state = State.NEEDS_LIST;
    long watchId = -1;
    long nextStart;
    String nextOrigin = "";
    Segment seg;
    final List<Segment> segments = new ArrayList<>();
    int creates;
    int cancels;
    int drops;
    int compactedCancels;
    int listings;

    Watcher(int idx, Spec spec, Conn conn) {
      this.idx = idx;
      this.spec = spec;
      this.conn = conn;
    }

    String label() {
      return "watcher " + idx + " (" + spec.name + ")";
    }
  }

  /** One watch stream slot (own channel), re-opened after each drop. */
  final class Conn {
    final int idx;
    final ManagedChannel channel;
    final List<Watcher> watchers = new ArrayList<>();
    // guarded by this
    int generation;
    boolean open;
    ClientCallStreamObserver<WatchRequest> requests;
    final ArrayDeque<Watcher> pendingCreates = new ArrayDeque<>();
    final Map<Long, Watcher> byId = new HashMap<>();
    volatile long stallUntilNanos;

    Conn(int idx, ManagedChannel channel) {
      this.idx = idx;
      this.channel = channel;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // shared state of one run

  private final ConcurrentLinkedQueue<Write> writes = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Listing> listings = new ConcurrentLinkedQueue<>();
  private final AtomicLong maxRevision = new AtomicLong(1);
  private final AtomicLong compactionIssued = new AtomicLong(0);
  /** Every revision a compaction was issued to. */
  private final Set<Long> compactionTargets = ConcurrentHashMap.newKeySet();
  /** Deletes at a watch's start revision that were not delivered because that revision was compacted. */
  private final AtomicLong deletesAtCompactedStart = new AtomicLong();
  private final AtomicLong compactions = new AtomicLong();
  private final AtomicLong stalls = new AtomicLong();
  private final AtomicLong responsesReceived = new AtomicLong();
  private final AtomicLong otherResponses = new AtomicLong();
  private final AtomicBoolean stopWrites = new AtomicBoolean();
  private final List<Conn> conns = new ArrayList<>();
  private final List<Watcher> watchers = new ArrayList<>();
  private ScheduledExecutorService control;
  private KVGrpc.KVBlockingStub listKv;

  private void violation(String s) {
    violations.add(s);
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS)
  void watchersSeeExactlyTheCommittedHistoryAcrossResumesAndCompactions(TestInfo info) throws Exception {
    long t0 = System.nanoTime();
    long seed = System.nanoTime();
    Random chaos = new Random(seed);
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    ExecutorService writerPool = Executors.newFixedThreadPool(WRITERS + 1, daemon("torture-writer"));
    control = Executors.newSingleThreadScheduledExecutor(daemon("torture-control"));
    ManagedChannel writeCh = null;
    ManagedChannel adminCh = null;
    Binary binary = Binary.fromSystemProperty();
    try (Member m = Member.start(binary, work.resolve("member"), a)) {
      long started = System.nanoTime();
      writeCh = WatchRpc.channel(m.host(), m.clientPort());
      adminCh = WatchRpc.channel(m.host(), m.clientPort());
      listKv = KVGrpc.newBlockingStub(adminCh);
      for (int c = 0; c < 5; c++) conns.add(new Conn(c, WatchRpc.channel(m.host(), m.clientPort())));
      addWatcher(0, new Spec("prefix /t/a", "/t/a", prefixEnd("/t/a"), false, false));
      addWatcher(0, new Spec("prefix /t/a/ +prev_kv", "/t/a/", prefixEnd("/t/a/"), true, false));
      addWatcher(1, new Spec("key /t/a/1 +prev_kv", "/t/a/1", "", true, false));
      addWatcher(1, new Spec("from-key /t/ +prev_kv", "/t/", "\0", true, false));
      addWatcher(2, new Spec("range [/t/a/, /t/b/x)", "/t/a/", "/t/b/x", false, false));
      addWatcher(3, new Spec("prefix /t/ab/ NODELETE", "/t/ab/", prefixEnd("/t/ab/"), false, true));
      addWatcher(3, new Spec("prefix /t/c/ +prev_kv", "/t/c/", prefixEnd("/t/c/"), true, false));
      addWatcher(4, new Spec("all keys", "\0", "\0", false, false));

      // every watcher lists its range, then watches from the list revision + 1
      for (Conn c : conns) control.execute(guarded(() -> open(c)));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (!allActive()) {
        assertTrue(System.nanoTime() < deadline, "watchers not all created within 15 s: " + describeWatchers()
            + "\n" + violations);
        Thread.sleep(20);
      }

      // load: writers, compactor, chaos
      List<Future<?>> writerFutures = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        final int writer = w;
        final long writerSeed = seed * 31 + w;
        final KVGrpc.KVBlockingStub writerKv = KVGrpc.newBlockingStub(writeCh);
        writerFutures.add(writerPool.submit(() -> {
          write(writer, new Random(writerSeed), writerKv);
          return null;
        }));
      }
      KVGrpc.KVBlockingStub compactKv = KVGrpc.newBlockingStub(adminCh);
      Future<?> compactor = writerPool.submit(() -> {
        compact(compactKv);
        return null;
      });
      ScheduledFuture<?> chaosTask = control.scheduleWithFixedDelay(guarded(() -> chaos(chaos)),
          CHAOS_EVERY_MILLIS, CHAOS_EVERY_MILLIS, TimeUnit.MILLISECONDS);
      long loadEnd = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LOAD_MILLIS);
      while (System.nanoTime() < loadEnd && !stopWrites.get()) Thread.sleep(50);
      stopWrites.set(true);
      for (Future<?> f : writerFutures) f.get(RPC_DEADLINE_MILLIS + 10_000, TimeUnit.MILLISECONDS);
      compactor.get(RPC_DEADLINE_MILLIS + 10_000, TimeUnit.MILLISECONDS);
      chaosTask.cancel(false);
      control.submit(() -> { }).get(RPC_DEADLINE_MILLIS + 10_000, TimeUnit.MILLISECONDS); // chaos has finished
      long loadMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertTrue(violations.isEmpty(), "during the load:\n" + report() + "\n--- member log tail:\n" + m.logTail(40));

      // the committed history and every watcher's expected events
      List<Expected> history = replay();
      assertTrue(violations.isEmpty(), "the acknowledged writes are not a consistent history:\n" + report());
      long finalRevision = maxRevision.get();
      Map<Watcher, List<Expected>> expected = new LinkedHashMap<>();
      Map<Watcher, Long> lastExpected = new HashMap<>();
      for (Watcher w : watchers) {
        List<Expected> mine = new ArrayList<>();
        for (Expected e : history) if (w.spec.matches(e)) mine.add(e);
        expected.put(w, mine);
        lastExpected.put(w, mine.isEmpty() ? 0L : mine.get(mine.size() - 1).rev);
      }

      // drain: every watcher active and past the last revision of its range; then a grace period for extras
      long drainStart = System.nanoTime();
      long drainDeadline = drainStart + TimeUnit.MILLISECONDS.toNanos(DRAIN_MILLIS);
      while (!caughtUp(lastExpected)) {
        if (System.nanoTime() > drainDeadline || !violations.isEmpty()) break;
        Thread.sleep(20);
      }
      boolean drained = caughtUp(lastExpected);
      long drainMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - drainStart);
      Thread.sleep(500);
      closeStreams();

      // check every segment
      long checked = 0;
      int segmentsChecked = 0;
      long prevKvCompacted = 0;
      long prevKvAfterCancel = 0;
      for (Watcher w : watchers) {
        synchronized (w.conn) {
          for (int s = 0; s < w.segments.size(); s++) {
            long[] r = checkSegment(w, w.segments.get(s), s == w.segments.size() - 1, expected.get(w));
            checked += r[0];
            prevKvCompacted += r[1];
            prevKvAfterCancel += r[2];
            segmentsChecked++;
          }
        }
      }
      if (!drained) {
        violation("watchers did not catch up within " + DRAIN_MILLIS + " ms after the writers stopped (final "
            + "revision " + finalRevision + "): " + describeWatchers());
      }

      int totalCreates = 0;
      int totalCancels = 0;
      int totalDrops = 0;
      int totalCompacted = 0;
      int totalListings = 0;
      StringBuilder per = new StringBuilder();
      for (Watcher w : watchers) {
        synchronized (w.conn) {
          totalCreates += w.creates;
          totalCancels += w.cancels;
          totalDrops += w.drops;
          totalCompacted += w.compactedCancels;
          totalListings += w.listings;
          int events = 0;
          for (Segment s : w.segments) events += s.events();
          per.append(String.format("%n  %-40s %6d events %3d watches %3d cancels %3d drops %3d compacted"
                  + " (expected events in range: %d)", w.label(), events, w.creates, w.cancels, w.drops,
              w.compactedCancels, expected.get(w).size()));
        }
      }
      int changedWrites = 0;
      int txns = 0;
      for (Write w : writes) {
        if (w.changed()) changedWrites++;
        if (w.txn) txns++;
      }
      System.out.printf("WatchTortureTest [%s, seed %d]: %d writes (%d txns, %d changed the store; final revision "
              + "%d) in %d ms; %d compactions (last to %d); %d events checked in %d segments (%d responses, "
              + "%d other); %d resumes (%d watches in all), %d cancels, %d stream drops, %d read stalls, "
              + "%d compacted cancels, %d listings; events without prev_kv: %d after compaction, %d after a cancel "
              + "request; %d deletes at a compacted start revision not delivered (as etcd); drain %d ms; "
              + "total %d ms%s%n",
          binary.name().toLowerCase(), seed, writes.size(), txns, changedWrites, finalRevision, loadMillis,
          compactions.get(), compactionIssued.get(), checked, segmentsChecked, responsesReceived.get(),
          otherResponses.get(), totalCreates - WATCHERS, totalCreates, totalCancels, totalDrops, stalls.get(),
          totalCompacted, totalListings, prevKvCompacted, prevKvAfterCancel, deletesAtCompactedStart.get(), drainMillis,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), per);
      assertTrue(violations.isEmpty(), report() + "\n--- member log tail:\n" + m.logTail(40));
      assertTrue(checked > 10_000, "too few events checked to mean anything: " + checked);
      assertTrue(totalCancels + totalDrops > 20, "too few resumes: " + (totalCancels + totalDrops));
    } finally {
      stopWrites.set(true);
      control.shutdownNow();
      writerPool.shutdownNow();
      for (Conn c : conns) WatchRpc.close(c.channel);
      WatchRpc.close(writeCh);
      WatchRpc.close(adminCh);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // writers and compactor

  private void write(int writer, Random rnd, KVGrpc.KVBlockingStub kv) {
    for (long seq = 0; seq < MAX_WRITES_PER_WRITER && !stopWrites.get(); seq++) {
      String value = "v" + writer + "." + seq + "." + "x".repeat(rnd.nextInt(40));
      int p = rnd.nextInt(100);
      Write w;
      try {
        KVGrpc.KVBlockingStub stub = kv.withDeadlineAfter(RPC_DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
        if (p < 40) {
          String key = pick(rnd);
          PutResponse r = stub.put(PutRequest.newBuilder().setKey(bs(key)).setValue(bs(value)).setPrevKv(true).build());
          w = new Write(writer, seq, r.getHeader().getRevision(), false, null, true,
              List.of(new Exec(true, key, null, value, r.hasPrevKv() ? r.getPrevKv() : null, null, 0)));
        } else if (p < 55) {
          String key = pick(rnd);
          DeleteRangeResponse r = stub.deleteRange(DeleteRangeRequest.newBuilder().setKey(bs(key)).setPrevKv(true).build());
          w = new Write(writer, seq, r.getHeader().getRevision(), false, null, true,
              List.of(new Exec(false, key, null, null, null, r.getPrevKvsList(), r.getDeleted())));
        } else if (p < 62) {
          String[] range = RANGE_DELETES[rnd.nextInt(RANGE_DELETES.length)];
          DeleteRangeResponse r = stub.deleteRange(DeleteRangeRequest.newBuilder().setKey(bs(range[0]))
              .setRangeEnd(bs(range[1])).setPrevKv(true).build());
          w = new Write(writer, seq, r.getHeader().getRevision(), false, null, true,
              List.of(new Exec(false, range[0], range[1], null, null, r.getPrevKvsList(), r.getDeleted())));
        } else {
          String compareKey = pick(rnd);
          List<Exec> success = txnOps(rnd, 2 + rnd.nextInt(3), value + "s");
          List<Exec> failure = txnOps(rnd, 1 + rnd.nextInt(3), value + "f");
          TxnRequest.Builder t = TxnRequest.newBuilder().addCompare(Compare.newBuilder().setKey(bs(compareKey))
              .setTarget(Compare.CompareTarget.VERSION).setResult(Compare.CompareResult.GREATER).setVersion(0));
          for (Exec e : success) t.addSuccess(requestOp(e));
          for (Exec e : failure) t.addFailure(requestOp(e));
          TxnResponse r = stub.txn(t.build());
          List<Exec> planned = r.getSucceeded() ? success : failure;
          if (r.getResponsesCount() != planned.size()) {
            violation("writer " + writer + ": txn has " + r.getResponsesCount() + " responses for " + planned.size()
                + " ops: " + r);
            stopWrites.set(true);
            return;
          }
          List<Exec> executed = new ArrayList<>();
          for (int i = 0; i < planned.size(); i++) {
            Exec e = planned.get(i);
            ResponseOp ro = r.getResponses(i);
            if (e.put) {
              executed.add(new Exec(true, e.key, null, e.value,
                  ro.getResponsePut().hasPrevKv() ? ro.getResponsePut().getPrevKv() : null, null, 0));
            } else {
              executed.add(new Exec(false, e.key, null, null, null, ro.getResponseDeleteRange().getPrevKvsList(),
                  ro.getResponseDeleteRange().getDeleted()));
            }
          }
          w = new Write(writer, seq, r.getHeader().getRevision(), true, compareKey, r.getSucceeded(), executed);
        }
      } catch (StatusRuntimeException e) {
        violation("writer " + writer + ": write #" + seq + " failed (its outcome is unknown, the history cannot be "
            + "checked): " + e.getStatus());
        stopWrites.set(true);
        return;
      }
      writes.add(w);
      maxRevision.accumulateAndGet(w.revision, Math::max);
    }
  }

  /** {@code n} ops on distinct keys: 70 % puts, 30 % single-key deletes. */
  private static List<Exec> txnOps(Random rnd, int n, String value) {
    List<String> keys = new ArrayList<>(KEYS);
    Collections.shuffle(keys, rnd);
    List<Exec> ops = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String key = keys.get(i);
      if (rnd.nextInt(10) < 7) {
        ops.add(new Exec(true, key, null, value + i, null, null, 0));
      } else {
        ops.add(new Exec(false, key, null, null, null, null, 0));
      }
    }
    return ops;
  }

  private static RequestOp requestOp(Exec e) {
    if (e.put) {
      return RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs(e.key)).setValue(bs(e.value))
          .setPrevKv(true)).build();
    }
    return RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(bs(e.key))
        .setPrevKv(true)).build();
  }

  private static String pick(Random rnd) {
    return KEYS.get(rnd.nextInt(KEYS.size()));
  }

  private void compact(KVGrpc.KVBlockingStub kv) {
    while (!stopWrites.get()) {
      WatchRpc.sleep(COMPACT_EVERY_MILLIS);
      if (stopWrites.get()) return;
      long target = maxRevision.get() - COMPACT_KEEP;
      if (target <= compactionIssued.get()) continue;
      compactionIssued.set(target); // before the request: events read after it may lack a prev_kv
      compactionTargets.add(target);
      try {
        kv.withDeadlineAfter(RPC_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
            .compact(CompactionRequest.newBuilder().setRevision(target).build());
        compactions.incrementAndGet();
      } catch (StatusRuntimeException e) {
        violation("compaction to " + target + " failed: " + e.getStatus());
        stopWrites.set(true);
        return;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // watch streams

  private void addWatcher(int conn, Spec spec) {
    Conn c = conns.get(conn);
    Watcher w = new Watcher(watchers.size(), spec, c);
    c.watchers.add(w);
    watchers.add(w);
  }

  private void open(Conn conn) {
    synchronized (conn) {
      int gen = ++conn.generation;
      conn.pendingCreates.clear();
      conn.byId.clear();
      WatchGrpc.newStub(conn.channel).watch(new ClientResponseObserver<WatchRequest, WatchResponse>() {
        @Override
        public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
          conn.requests = requestStream;
        }

        @Override
        public void onNext(WatchResponse r) {
          onResponse(conn, gen, r);
        }

        @Override
        public void onError(Throwable t) {
          onStreamEnd(conn, gen, t);
        }

        @Override
        public void onCompleted() {
          onStreamEnd(conn, gen, null);
        }
      });
      conn.open = true;
    }
    for (Watcher w : conn.watchers) ensureWatching(w);
  }

  /** Control thread: drops the stream (client-side cancel) and re-opens it after a random pause. */
  private void drop(Conn conn) {
    synchronized (conn) {
      if (!conn.open) return;
      conn.generation++;
      conn.open = false;
      conn.requests.cancel("the test drops the stream", null);
      for (Watcher w : conn.watchers) {
        if (w.state == State.CREATING || w.state == State.ACTIVE || w.state == State.CANCELING) {
          endSegment(w, "stream dropped");
          w.state = State.IDLE;
          w.drops++;
        }
      }
      conn.pendingCreates.clear();
      conn.byId.clear();
    }
    control.schedule(guarded(() -> open(conn)), ThreadLocalRandom.current().nextInt(800), TimeUnit.MILLISECONDS);
  }

  /** Control thread: lists the range if needed, then creates the watch from the resume revision. */
  private void ensureWatching(Watcher w) {
    State s;
    synchronized (w.conn) {
      s = w.state;
    }
    if (s == State.NEEDS_LIST) {
      RangeRequest.Builder rq = RangeRequest.newBuilder().setKey(bs(w.spec.key));
      if (!w.spec.end.isEmpty()) rq.setRangeEnd(bs(w.spec.end));
      RangeResponse rr;
      try {
        rr = listKv.withDeadlineAfter(RPC_DEADLINE_MILLIS, TimeUnit.MILLISECONDS).range(rq.build());
      } catch (StatusRuntimeException e) {
        violation(w.label() + ": listing failed: " + e.getStatus());
        return;
      }
      long rev = rr.getHeader().getRevision();
      listings.add(new Listing(w, rev, rr.getKvsList()));
      synchronized (w.conn) {
        w.listings++;
        w.nextStart = rev + 1;
        w.nextOrigin = "listed at " + rev;
        w.state = State.IDLE;
      }
    }
    synchronized (w.conn) {
      if (w.state != State.IDLE || !w.conn.open) return;
      w.seg = new Segment(w.nextStart, w.nextOrigin.isEmpty() ? "resume" : w.nextOrigin);
      w.nextOrigin = "";
      w.segments.add(w.seg);
      w.state = State.CREATING;
      w.creates++;
      w.conn.pendingCreates.add(w);
      WatchCreateRequest.Builder c = WatchCreateRequest.newBuilder().setKey(bs(w.spec.key))
          .setStartRevision(w.nextStart).setPrevKv(w.spec.prevKv);
      if (!w.spec.end.isEmpty()) c.setRangeEnd(bs(w.spec.end));
      if (w.spec.noDelete) c.addFilters(WatchCreateRequest.FilterType.NODELETE);
      w.conn.requests.onNext(WatchRequest.newBuilder().setCreateRequest(c).build());
    }
  }

  private void onResponse(Conn conn, int gen, WatchResponse r) {
    long stall = conn.stallUntilNanos - System.nanoTime();
    if (stall > 0) WatchRpc.sleep(TimeUnit.NANOSECONDS.toMillis(stall) + 1); // stop reading for a while
    synchronized (conn) {
      if (gen != conn.generation) return; // a dropped stream's late response
      responsesReceived.incrementAndGet();
      if (r.getCreated()) {
        Watcher w = conn.pendingCreates.poll();
        if (w == null) {
          violation("stream " + conn.idx + ": created response without a pending create: " + r);
          return;
        }
        if (r.getCanceled()) {
          violation(w.label() + ": create from " + w.seg.start + " refused: " + r.getCancelReason());
          endSegment(w, "refused");
          w.state = State.IDLE;
          return;
        }
        if (conn.byId.containsKey(r.getWatchId())) {
          violation(w.label() + ": created with watch id " + r.getWatchId() + " which is still in use on the stream");
        }
        w.watchId = r.getWatchId();
        w.state = State.ACTIVE;
        conn.byId.put(w.watchId, w);
        return;
      }
      Watcher w = conn.byId.get(r.getWatchId());
      if (w == null) {
        violation("stream " + conn.idx + ": response for unknown watch id " + r.getWatchId() + ": " + brief(r));
        return;
      }
      if (r.getEventsCount() > 0) {
        w.seg.resps.add(new Resp(r.getHeader().getRevision(), List.copyOf(r.getEventsList()), compactionIssued.get(),
            w.state == State.CANCELING));
        w.nextStart = r.getEvents(r.getEventsCount() - 1).getKv().getModRevision() + 1;
      }
      if (r.getCanceled()) {
        conn.byId.remove(r.getWatchId());
        if (r.getCompactRevision() != 0) {
          w.seg.compactRevision = r.getCompactRevision();
          w.seg.nextStartAtCompaction = w.nextStart;
          w.seg.compactionIssuedAtCancel = compactionIssued.get();
          endSegment(w, "compacted at " + r.getCompactRevision());
          w.compactedCancels++;
          w.state = State.NEEDS_LIST;
          control.schedule(guarded(() -> ensureWatching(w)), ThreadLocalRandom.current().nextInt(300),
              TimeUnit.MILLISECONDS);
        } else {
          if (w.state != State.CANCELING) {
            violation(w.label() + ": watch " + r.getWatchId() + " canceled by the server: \"" + r.getCancelReason()
                + "\"");
          }
          endSegment(w, "canceled");
          w.state = State.IDLE;
          control.schedule(guarded(() -> ensureWatching(w)), ThreadLocalRandom.current().nextInt(500),
              TimeUnit.MILLISECONDS);
        }
      } else if (r.getEventsCount() == 0) {
        otherResponses.incrementAndGet();
      }
    }
  }

  private void onStreamEnd(Conn conn, int gen, Throwable t) {
    synchronized (conn) {
      if (gen != conn.generation) return; // dropped by the test
      violation("stream " + conn.idx + " ended by the server: " + t);
    }
    control.execute(guarded(() -> drop(conn)));
  }

  private static void endSegment(Watcher w, String why) {
    if (w.seg != null) w.seg.end = why;
    w.seg = null;
    w.watchId = -1;
  }

  /** Control thread, during the load: cancel a watcher, drop a stream or stop reading one for a while. */
  private void chaos(Random rnd) {
    Watcher w = watchers.get(rnd.nextInt(watchers.size()));
    int p = rnd.nextInt(100);
    if (p < 45) {
      synchronized (w.conn) {
        if (w.state != State.ACTIVE) return;
        w.state = State.CANCELING;
        w.cancels++;
        w.conn.requests.onNext(WatchRequest.newBuilder()
            .setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(w.watchId)).build());
      }
    } else if (p < 75) {
      drop(w.conn);
    } else {
      w.conn.stallUntilNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100 + rnd.nextInt(800));
      stalls.incrementAndGet();
    }
  }

  private boolean allActive() {
    for (Watcher w : watchers) {
      synchronized (w.conn) {
        if (w.state != State.ACTIVE) return false;
      }
    }
    return true;
  }

  private boolean caughtUp(Map<Watcher, Long> lastExpected) {
    for (Watcher w : watchers) {
      synchronized (w.conn) {
        if (w.state != State.ACTIVE || w.nextStart <= lastExpected.get(w)) return false;
      }
    }
    return true;
  }

  private void closeStreams() {
    for (Conn c : conns) {
      synchronized (c) {
        c.generation++;
        if (c.open && c.requests != null) c.requests.cancel("test over", null);
        c.open = false;
      }
    }
  }

  private String describeWatchers() {
    StringBuilder b = new StringBuilder();
    for (Watcher w : watchers) {
      synchronized (w.conn) {
        b.append("\n  ").append(w.label()).append(": ").append(w.state).append(", next revision ")
            .append(w.nextStart).append(", watch id ").append(w.watchId);
      }
    }
    return b.toString();
  }

  // ---------------------------------------------------------------------------------------------
  // the model: replay of the acknowledged writes in revision order

  private List<Expected> replay() {
    Map<Long, Write> changed = new HashMap<>();
    Map<Long, List<Write>> unchanged = new HashMap<>();
    for (Write w : writes) {
      if (w.changed()) {
        Write other = changed.put(w.revision, w);
        if (other != null) {
          violation("two writes acknowledged with revision " + w.revision + ": " + w.describe() + " and "
              + other.describe());
        }
      } else {
        unchanged.computeIfAbsent(w.revision, r -> new ArrayList<>()).add(w);
      }
    }
    Map<Long, List<Listing>> listingsAt = new HashMap<>();
    for (Listing l : listings) listingsAt.computeIfAbsent(l.revision, r -> new ArrayList<>()).add(l);
    long last = maxRevision.get();
    TreeMap<String, KeyValue> state = new TreeMap<>();
    List<Expected> history = new ArrayList<>();
    for (long rev = 1; rev <= last; rev++) {
      if (rev > 1) {
        Write w = changed.get(rev);
        if (w == null) {
          violation("revision " + rev + " has no acknowledged write that changed the store");
          return history;
        }
        applyAndCheck(w, state, history);
      }
      for (Write w : unchanged.getOrDefault(rev, List.of())) checkNoop(w, state);
      for (Listing l : listingsAt.getOrDefault(rev, List.of())) checkListing(l, state);
    }
    for (Listing l : listings) {
      if (l.revision > last) violation(l.watcher.label() + ": listed at revision " + l.revision + " beyond " + last);
    }
    return history;
  }

  private void applyAndCheck(Write w, TreeMap<String, KeyValue> state, List<Expected> history) {
    long rev = w.revision;
    if (w.txn && w.succeeded != state.containsKey(w.compareKey)) {
      violation("txn took the " + (w.succeeded ? "success" : "failure") + " branch but " + w.compareKey
          + (state.containsKey(w.compareKey) ? " existed" : " did not exist") + " at " + (rev - 1) + ": "
          + w.describe());
    }
    for (Exec e : w.ops) {
      if (e.put) {
        KeyValue before = state.get(e.key);
        if (!Objects.equals(before, e.reportedPrev)) {
          violation("put reported prev_kv " + kvString(e.reportedPrev) + " but the replayed state at " + (rev - 1)
              + " has " + kvString(before) + ": " + w.describe());
        }
        KeyValue kv = KeyValue.newBuilder().setKey(bs(e.key)).setValue(bs(e.value)).setModRevision(rev)
            .setCreateRevision(before == null ? rev : before.getCreateRevision())
            .setVersion(before == null ? 1 : before.getVersion() + 1).build();
        state.put(e.key, kv);
        history.add(new Expected(rev, Event.EventType.PUT, e.key, kv, before));
      } else {
        List<KeyValue> gone = new ArrayList<>(e.end == null
            ? (state.containsKey(e.key) ? List.of(state.get(e.key)) : List.of())
            : state.subMap(e.key, e.end).values());
        if (!gone.equals(e.reportedDeleted) || e.deleted != gone.size()) {
          violation("delete reported " + e.deleted + " deleted " + kvStrings(e.reportedDeleted)
              + " but the replayed state at " + (rev - 1) + " has " + kvStrings(gone) + ": " + w.describe());
        }
        for (KeyValue kv : gone) {
          String key = kv.getKey().toStringUtf8();
          state.remove(key);
          history.add(new Expected(rev, Event.EventType.DELETE, key,
              KeyValue.newBuilder().setKey(kv.getKey()).setModRevision(rev).build(), kv));
        }
      }
    }
  }

  /** A write that changed nothing: its deletes found nothing at its response revision. */
  private void checkNoop(Write w, TreeMap<String, KeyValue> state) {
    if (w.txn && w.succeeded != state.containsKey(w.compareKey)) {
      violation("txn took the " + (w.succeeded ? "success" : "failure") + " branch but " + w.compareKey
          + (state.containsKey(w.compareKey) ? " existed" : " did not exist") + " at " + w.revision + ": "
          + w.describe());
    }
    for (Exec e : w.ops) {
      List<KeyValue> there = e.end == null
          ? (state.containsKey(e.key) ? List.of(state.get(e.key)) : List.of())
          : new ArrayList<>(state.subMap(e.key, e.end).values());
      if (!there.isEmpty() || !e.reportedDeleted.isEmpty()) {
        violation("a delete that deleted nothing at revision " + w.revision + " (reported " + kvStrings(
            e.reportedDeleted) + ") but the replayed state there has " + kvStrings(there) + ": " + w.describe());
      }
    }
  }

  private void checkListing(Listing l, TreeMap<String, KeyValue> state) {
    List<KeyValue> want = new ArrayList<>();
    for (KeyValue kv : state.values()) if (l.watcher.spec.contains(kv.getKey().toStringUtf8())) want.add(kv);
    if (!want.equals(l.kvs)) {
      violation(l.watcher.label() + ": listing at revision " + l.revision + " returned " + kvStrings(l.kvs)
          + " but the committed state there is " + kvStrings(want));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // the check of one watch segment

  /**
   * Returns {events checked, events whose prev_kv is missing because of compaction, events whose
   * prev_kv is missing that arrived after the client had asked to cancel the watch}.
   */
  private long[] checkSegment(Watcher w, Segment seg, boolean lastSegment, List<Expected> mine) {
    String ctx = w.label() + ", watch #" + (w.segments.indexOf(seg) + 1) + " from revision " + seg.start + " ("
        + seg.origin + ", ended: " + seg.end + "): ";
    int lo = 0;
    int hi = mine.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (mine.get(mid).rev < seg.start) lo = mid + 1; else hi = mid;
    }
    Map<Long, Integer> perRevision = new HashMap<>();
    for (int i = lo; i < mine.size(); i++) perRevision.merge(mine.get(i).rev, 1, Integer::sum);
    int i = lo;
    long checked = 0;
    long prevKvCompacted = 0;
    long prevKvAfterCancel = 0;
    int respNo = 0;
    outer:
    for (Resp resp : seg.resps) {
      respNo++;
      Map<Long, Integer> inResp = new LinkedHashMap<>();
      for (Event ev : resp.events) inResp.merge(ev.getKv().getModRevision(), 1, Integer::sum);
      for (Map.Entry<Long, Integer> en : inResp.entrySet()) {
        int want = perRevision.getOrDefault(en.getKey(), 0);
        if (want != 0 && en.getValue() != want) {
          violation(ctx + "response " + respNo + " carries " + en.getValue() + " of the " + want + " events of revision "
              + en.getKey() + " in range (a revision split across responses, or duplicated)");
          break outer;
        }
      }
      long lastRev = resp.events.get(resp.events.size() - 1).getKv().getModRevision();
      if (resp.headerRevision < lastRev) {
        violation(ctx + "response " + respNo + " has header revision " + resp.headerRevision + " below its event at "
            + lastRev);
      }
      for (Event ev : resp.events) {
        if (i >= mine.size()) {
          violation(ctx + "extra event after the last committed one in range: " + eventString(ev));
          break outer;
        }
        Expected x = mine.get(i);
        boolean same = ev.getType() == x.type && ev.getKv().equals(x.kv);
        while (!same && deleteLostAtCompactedStart(seg, x) && i + 1 < mine.size()) {
          i++;
          x = mine.get(i);
          same = ev.getType() == x.type && ev.getKv().equals(x.kv);
        }
        if (!same) {
          String what = ev.getKv().getModRevision() < x.rev ? "unexpected event (duplicate, out of order or never "
              + "committed in range)"
              : ev.getKv().getModRevision() > x.rev ? "gap: missing " + x.type + " " + x.key + "@" + x.rev
              : "wrong event";
          violation(ctx + what + " at event " + (i - lo + 1) + " (response " + respNo + "): got " + eventString(ev)
              + ", expected " + x.type + " " + kvString(x.kv));
          break outer;
        }
        boolean wantPrev = w.spec.prevKv && x.prev != null;
        if (ev.hasPrevKv()) {
          if (!wantPrev || !ev.getPrevKv().equals(x.prev)) {
            violation(ctx + "event " + eventString(ev) + " has prev_kv " + kvString(ev.getPrevKv()) + ", expected "
                + (wantPrev ? kvString(x.prev) : "none"));
            break outer;
          }
        } else if (wantPrev) {
          if (resp.compactionIssued >= x.rev) {
            prevKvCompacted++;
          } else if (resp.afterCancelRequest) {
            prevKvAfterCancel++;
          } else {
            violation(ctx + "event " + eventString(ev) + " (response " + respNo + " of " + seg.resps.size() + ", with "
                + resp.events.size() + " events) lacks prev_kv " + kvString(x.prev) + " (no compaction at or "
                + "above " + x.rev + " had been issued; highest " + resp.compactionIssued + ")");
            break outer;
          }
        }
        i++;
        checked++;
      }
    }
    if (seg.compactRevision != 0) {
      if (seg.nextStartAtCompaction >= seg.compactRevision) {
        violation(ctx + "compacted cancel with compact revision " + seg.compactRevision + " but the watch only needed "
            + "revisions from " + seg.nextStartAtCompaction + " on (which are not compacted)");
      }
      if (seg.compactRevision > seg.compactionIssuedAtCancel) {
        violation(ctx + "compacted cancel with compact revision " + seg.compactRevision + " above the highest "
            + "compaction issued, " + seg.compactionIssuedAtCancel);
      }
    }
    while (i < mine.size() && deleteLostAtCompactedStart(seg, mine.get(i))) i++;
    if (lastSegment && i < mine.size()) {
      Expected x = mine.get(i);
      violation(ctx + "missing events at the end: received " + (i - lo) + " of " + (mine.size() - lo)
          + ", the first missing is " + x.type + " " + kvString(x.kv));
    }
    return new long[] {checked, prevKvCompacted, prevKvAfterCancel};
  }

  /**
   * etcd's compaction at revision R removes the row of a delete made at exactly R (the tombstone is
   * not kept), so a watch that starts at R, which is allowed, may not get that DELETE event; etcd
   * and Etcetera alike. Counted, and allowed only there.
   */
  private boolean deleteLostAtCompactedStart(Segment seg, Expected x) {
    boolean lost = x.type == Event.EventType.DELETE && x.rev == seg.start && compactionTargets.contains(seg.start);
    if (lost) deletesAtCompactedStart.incrementAndGet();
    return lost;
  }

  // ---------------------------------------------------------------------------------------------

  private String report() {
    List<String> all = new ArrayList<>(violations);
    StringBuilder b = new StringBuilder(all.size() + " violation(s):");
    for (int i = 0; i < Math.min(MAX_REPORTED, all.size()); i++) b.append("\n  ").append(all.get(i));
    if (all.size() > MAX_REPORTED) b.append("\n  ...");
    return b.toString();
  }

  private static String brief(WatchResponse r) {
    return "created=" + r.getCreated() + " canceled=" + r.getCanceled() + " compact=" + r.getCompactRevision()
        + " events=" + r.getEventsCount() + " reason=" + r.getCancelReason();
  }

  static String kvString(KeyValue kv) {
    if (kv == null) return "none";
    return "{" + kv.getKey().toStringUtf8() + "=" + kv.getValue().toStringUtf8() + " create=" + kv.getCreateRevision()
        + " mod=" + kv.getModRevision() + " ver=" + kv.getVersion() + (kv.getLease() != 0 ? " lease=" + kv.getLease()
        : "") + "}";
  }

  private static String kvStrings(List<KeyValue> kvs) {
    if (kvs == null) return "null";
    List<String> s = new ArrayList<>();
    for (KeyValue kv : kvs) s.add(kvString(kv));
    return s.toString();
  }

  private static String eventString(Event ev) {
    return ev.getType() + " " + kvString(ev.getKv());
  }

  private Runnable guarded(Runnable r) {
    return () -> {
      try {
        r.run();
      } catch (RuntimeException | Error e) {
        violation("control task failed: " + e);
      }
    };
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
