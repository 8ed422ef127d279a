package io.etcetera.e2e.jetcd;

import static io.etcetera.e2e.jetcd.JetcdKvTest.await;
import static io.etcetera.e2e.jetcd.JetcdKvTest.bs;
import static io.etcetera.e2e.jetcd.JetcdKvTest.failure;
import static io.etcetera.e2e.jetcd.JetcdKvTest.str;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.lease.LeaseGrantResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.lease.LeaseRevokeResponse;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchEvent.EventType;
import io.etcd.jetcd.watch.WatchResponse;
import io.etcetera.api.etcdserverpb.LeaseGrpc;
import io.etcetera.api.etcdserverpb.LeaseLeasesRequest;
import io.etcetera.api.etcdserverpb.LeaseLeasesResponse;
import io.etcetera.api.etcdserverpb.LeaseStatus;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The Watch and Lease APIs through jetcd 0.8.6: watch events with previous values, watches from a
 * past or compacted revision, progress notifications (requested and periodic), lease grant,
 * keep-alive (stream and once), time-to-live with keys, revoke, and the lease listing. Most tests
 * share one member and use disjoint key prefixes; compaction and the periodic progress interval (a
 * start flag) get members of their own.
 *
 * <p>jetcd 0.8.6's {@link Lease} has no {@code leases()} (LeaseLeases): the listing is called over a
 * plain gRPC channel with the etcd protocol's generated stub (module api-compat).
 *
 * <p>{@code -De2e.binary=etcd} runs the same expectations against the real etcd, which is where
 * they were taken from.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JetcdWatchLeaseTest {

  private static final Binary BINARY = Binary.fromSystemProperty();
  private static final Duration WAIT = Duration.ofSeconds(10);

  private Member member;
  private Client client;
  private KV kv;
  private Watch watch;
  private Lease lease;

  @BeforeAll
  void startMember() {
    Path work = Workdirs.fresh(Workdirs.classDir("JetcdWatchLeaseTest").resolve("shared"));
    Ports.Address a = Ports.allocate();
    member = Member.start(BINARY, work.resolve("member"), a);
    client = Client.builder().endpoints(member.endpoint()).build();
    kv = client.getKVClient();
    watch = client.getWatchClient();
    lease = client.getLeaseClient();
  }

  @AfterAll
  void stopMember() {
    try {
      if (client != null) client.close();
    } finally {
      if (member != null) member.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // watch

  @Test
  void watchPutAndDeleteWithPrevKv() {
    ByteSequence k = bs("w1/k");
    long before = revision();
    Collector c = new Collector();
    try (Watch.Watcher w = watch.watch(k, WatchOption.builder().withPrevKV(true).withCreateNotify(true).build(), c)) {
      WatchResponse created = c.next(WAIT);
      assertTrue(created.isCreatedNotify(), "created notification");
      assertTrue(created.getEvents().isEmpty());
      assertEquals(before, created.getHeader().getRevision(), "the created response carries the current revision");

      long r1 = await(kv.put(k, bs("v1"))).getHeader().getRevision();
      long r2 = await(kv.put(k, bs("v2"))).getHeader().getRevision();
      await(kv.put(bs("w1/other"), bs("not watched")));
      long r3 = await(kv.delete(k)).getHeader().getRevision();
      long r4 = await(kv.put(k, bs("v3"))).getHeader().getRevision();

      List<WatchEvent> ev = c.events(4, WAIT);
      assertEvent(ev.get(0), EventType.PUT, "w1/k", "v1", r1, r1, 1);
      assertNoPrev(ev.get(0));
      assertEvent(ev.get(1), EventType.PUT, "w1/k", "v2", r1, r2, 2);
      assertKv(ev.get(1).getPrevKV(), "w1/k", "v1", r1, r1, 1);
      // a DELETE's kv is the key with the delete's revision and nothing else
      assertEvent(ev.get(2), EventType.DELETE, "w1/k", "", 0, r3, 0);
      assertKv(ev.get(2).getPrevKV(), "w1/k", "v2", r1, r2, 2);
      // the re-created key: a new generation, no previous value
      assertEvent(ev.get(3), EventType.PUT, "w1/k", "v3", r4, r4, 1);
      assertNoPrev(ev.get(3));
      for (WatchResponse r : c.responses) {
        long last = r.getEvents().isEmpty() ? 0 : r.getEvents().get(r.getEvents().size() - 1).getKeyValue().getModRevision();
        assertTrue(r.getHeader().getRevision() >= last, "header revision " + r.getHeader().getRevision() + " < " + last);
      }
      c.assertNoMore(Duration.ofMillis(300));
    }
    assertTrue(c.completedWithin(WAIT), "closing the watcher completes the listener");
    assertTrue(c.errors.isEmpty(), "errors: " + c.errors);
  }

  @Test
  void watchFromPastRevisionThenLive() {
    long r1 = await(kv.put(bs("h/a"), bs("1"))).getHeader().getRevision();
    await(kv.put(bs("h/b"), bs("2")));
    await(kv.delete(bs("h/a")));
    await(kv.put(bs("hx"), bs("outside")));
    long r5 = await(kv.put(bs("h/a"), bs("3"))).getHeader().getRevision();
    assertEquals(r1 + 4, r5);

    Collector c = new Collector();
    try (Watch.Watcher w = watch.watch(bs("h/"), WatchOption.builder().isPrefix(true).withRevision(r1).build(), c)) {
      List<WatchEvent> hist = c.events(4, WAIT);
      assertEvent(hist.get(0), EventType.PUT, "h/a", "1", r1, r1, 1);
      assertEvent(hist.get(1), EventType.PUT, "h/b", "2", r1 + 1, r1 + 1, 1);
      assertEvent(hist.get(2), EventType.DELETE, "h/a", "", 0, r1 + 2, 0);
      assertEvent(hist.get(3), EventType.PUT, "h/a", "3", r5, r5, 1);
      // history, then live
      long r6 = await(kv.put(bs("h/c"), bs("4"))).getHeader().getRevision();
      List<WatchEvent> live = c.events(1, WAIT);
      assertEvent(live.get(0), EventType.PUT, "h/c", "4", r6, r6, 1);
      c.assertNoMore(Duration.ofMillis(300));
    }

    // filters: from the same revision without puts only the delete remains, without deletes only puts
    Collector noPut = new Collector();
    try (Watch.Watcher w = watch.watch(bs("h/"), WatchOption.builder().isPrefix(true).withRevision(r1).withNoPut(true).build(), noPut)) {
      List<WatchEvent> ev = noPut.events(1, WAIT);
      assertEvent(ev.get(0), EventType.DELETE, "h/a", "", 0, r1 + 2, 0);
      noPut.assertNoMore(Duration.ofMillis(500));
    }
    Collector noDelete = new Collector();
    try (Watch.Watcher w = watch.watch(bs("h/"), WatchOption.builder().isPrefix(true).withRevision(r1 + 1).withNoDelete(true).build(), noDelete)) {
      List<WatchEvent> ev = noDelete.events(3, WAIT);
      assertEquals(List.of("h/b", "h/a", "h/c"), ev.stream().map(e -> str(e.getKeyValue().getKey())).toList());
      assertTrue(ev.stream().allMatch(e -> e.getEventType() == EventType.PUT));
      noDelete.assertNoMore(Duration.ofMillis(500));
    }
  }

  @Test
  void requestProgressReportsTheCurrentRevision() {
    // a client of its own: requestProgress() goes to every watcher of the client
    try (Client own = Client.builder().endpoints(member.endpoint()).build()) {
      Collector c = new Collector();
      try (Watch.Watcher w = own.getWatchClient().watch(bs("prog/"),
          WatchOption.builder().isPrefix(true).withProgressNotify(true).withCreateNotify(true).build(), c)) {
        assertTrue(c.next(WAIT).isCreatedNotify());
        await(kv.put(bs("prog-elsewhere/1"), bs("x")));
        long current = await(kv.put(bs("prog-elsewhere/2"), bs("x"))).getHeader().getRevision();
        c.assertNoMore(Duration.ofMillis(500)); // writes outside the watched range send nothing

        own.getWatchClient().requestProgress();
        WatchResponse progress = c.next(WAIT);
        assertTrue(progress.isProgressNotify(), "a progress notification");
        assertTrue(progress.getEvents().isEmpty());
        assertEquals(current, progress.getHeader().getRevision(), "progress carries the current revision");
        assertNotEquals(0, progress.getHeader().getMemberId());

        // events still flow afterwards, and a later request reports the later revision
        long r = await(kv.put(bs("prog/a"), bs("1"))).getHeader().getRevision();
        assertEquals(r, c.events(1, WAIT).get(0).getKeyValue().getModRevision());
        long later = await(kv.put(bs("prog-elsewhere/3"), bs("x"))).getHeader().getRevision();
        own.getWatchClient().requestProgress();
        WatchResponse second = c.next(WAIT);
        assertTrue(second.isProgressNotify());
        assertEquals(later, second.getHeader().getRevision());
        c.assertNoMore(Duration.ofMillis(300));
      }
      assertTrue(c.errors.isEmpty(), "errors: " + c.errors);
    }
  }

  @Test
  void periodicProgressNotifyOnlyForWatchersThatAskForIt(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    try (Member m = Member.start(BINARY, work.resolve("member"), a, "--experimental-watch-progress-notify-interval=1s");
        Client c = Client.builder().endpoints(m.endpoint()).build()) {
      KV ckv = c.getKVClient();
      Collector with = new Collector();
      Collector without = new Collector();
      try (Watch.Watcher w1 = c.getWatchClient().watch(bs("pp/"),
              WatchOption.builder().isPrefix(true).withProgressNotify(true).withCreateNotify(true).build(), with);
          Watch.Watcher w2 = c.getWatchClient().watch(bs("pp/"),
              WatchOption.builder().isPrefix(true).withCreateNotify(true).build(), without)) {
        assertTrue(with.next(WAIT).isCreatedNotify());
        assertTrue(without.next(WAIT).isCreatedNotify());
        long current = await(ckv.put(bs("elsewhere"), bs("x"))).getHeader().getRevision();
        // with a 1 s interval, a notification within a few seconds; skip one raced with the put
        WatchResponse p = with.next(WAIT);
        assertTrue(p.isProgressNotify(), "periodic progress notification");
        if (p.getHeader().getRevision() < current) p = with.next(WAIT);
        assertTrue(p.isProgressNotify());
        assertTrue(p.getEvents().isEmpty());
        assertEquals(current, p.getHeader().getRevision());
        // and they keep coming
        WatchResponse again = with.next(WAIT);
        assertTrue(again.isProgressNotify());
        assertEquals(current, again.getHeader().getRevision());
        without.assertNoMore(Duration.ZERO);
      }
      assertTrue(with.errors.isEmpty() && without.errors.isEmpty(), with.errors + " " + without.errors);
    }
  }

  @Test
  void watchFromCompactedRevisionReportsCompaction(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    try (Member m = Member.start(BINARY, work.resolve("member"), a);
        Client c = Client.builder().endpoints(m.endpoint()).build()) {
      KV ckv = c.getKVClient();
      ByteSequence k = bs("cw/k");
      long r1 = await(ckv.put(k, bs("v1"))).getHeader().getRevision();
      long r2 = await(ckv.put(k, bs("v2"))).getHeader().getRevision();
      long r3 = await(ckv.put(k, bs("v3"))).getHeader().getRevision();
      await(ckv.compact(r2));

      // jetcd turns the server's cancel (compact_revision set) into onError(CompactedException),
      // then closes the watcher, which completes the listener; no response reaches onNext
      Collector compacted = new Collector();
      Watch.Watcher w = c.getWatchClient().watch(k, WatchOption.builder().withRevision(r1).build(), compacted);
      try {
        Throwable err = compacted.error(WAIT);
        assertInstanceOf(CompactedException.class, err, "jetcd reports " + err);
        assertEquals(r2, ((CompactedException) err).getCompactedRevision());
        assertEquals(ErrorCode.OUT_OF_RANGE, ((EtcdException) err).getErrorCode(), String.valueOf(err));
        assertTrue(compacted.completedWithin(WAIT), "the watcher is closed after the compaction error");
        assertTrue(compacted.responses.isEmpty(), "no responses: " + compacted.responses);
      } finally {
        w.close();
      }

      // the compaction revision itself is still watchable
      Collector ok = new Collector();
      try (Watch.Watcher w2 = c.getWatchClient().watch(k, WatchOption.builder().withRevision(r2).build(), ok)) {
        List<WatchEvent> ev = ok.events(2, WAIT);
        assertEvent(ev.get(0), EventType.PUT, "cw/k", "v2", r1, r2, 2);
        assertEvent(ev.get(1), EventType.PUT, "cw/k", "v3", r1, r3, 3);
      }
      assertTrue(ok.errors.isEmpty(), "errors: " + ok.errors);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // lease

  @Test
  void keepAliveStreamKeepsTheKeyAlivePastItsTtl() throws Exception {
    LeaseGrantResponse g = await(lease.grant(3));
    long id = g.getID();
    assertNotEquals(0, id);
    assertEquals(3, g.getTTL());
    ByteSequence k = bs("ka/k");
    await(kv.put(k, bs("v"), PutOption.builder().withLeaseId(id).build()));
    assertEquals(id, await(kv.get(k)).getKvs().get(0).getLease());

    LinkedBlockingQueue<LeaseKeepAliveResponse> responses = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    CountDownLatch completed = new CountDownLatch(1);
    CloseableClient keeping = lease.keepAlive(id, observer(responses, errors, completed));
    long t0 = System.nanoTime();
    try {
      Thread.sleep(6500); // more than twice the TTL
      assertEquals(1, await(kv.get(k)).getCount(), "the key outlives its TTL while kept alive");
      LeaseTimeToLiveResponse ttl = await(lease.timeToLive(id, LeaseOption.DEFAULT));
      assertEquals(3, ttl.getGrantedTTL());
      assertTrue(ttl.getTTL() >= 1 && ttl.getTTL() <= 3, "remaining " + ttl.getTTL());
      assertTrue(responses.size() >= 3, "keep-alive responses in 6.5 s: " + responses.size());
      for (LeaseKeepAliveResponse r : responses) {
        assertEquals(id, r.getID());
        assertEquals(3, r.getTTL());
      }
      assertTrue(errors.isEmpty(), "errors: " + errors);
    } finally {
      keeping.close();
    }
    // no more keep-alives: the lease expires and takes the key with it
    long stopped = System.nanoTime();
    awaitGone(k, Duration.ofSeconds(15));
    double afterStop = (System.nanoTime() - stopped) / 1e9;
    assertTrue(afterStop >= 0.5, "the key vanished " + afterStop + " s after the last keep-alive");
    assertTrue((System.nanoTime() - t0) / 1e9 >= 7, "kept alive for the whole wait");
    LeaseTimeToLiveResponse gone = await(lease.timeToLive(id, LeaseOption.DEFAULT));
    assertEquals(-1, gone.getTTL(), "an expired lease has TTL -1");
    assertEquals(0, gone.getGrantedTTL());
  }

  @Test
  void keepAliveStreamOfARevokedLeaseReportsNotFound() throws Exception {
    long id = await(lease.grant(6)).getID();
    LinkedBlockingQueue<LeaseKeepAliveResponse> responses = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    CountDownLatch completed = new CountDownLatch(1);
    try (Client own = Client.builder().endpoints(member.endpoint()).build()) {
      CloseableClient keeping = own.getLeaseClient().keepAlive(id, observer(responses, errors, completed));
      try {
        LeaseKeepAliveResponse first = responses.poll(10, TimeUnit.SECONDS);
        assertTrue(first != null && first.getTTL() == 6 && first.getID() == id, "first keep-alive: " + first);
        await(lease.revoke(id));
        // jetcd sends the next keep-alive TTL/3 = 2 s after the last answer; the server answers TTL 0
        Throwable err = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (err == null && System.nanoTime() < deadline) err = errors.poll(100, TimeUnit.MILLISECONDS);
        assertInstanceOf(EtcdException.class, err, "a revoked lease's keep-alive fails: " + err);
        assertEquals(ErrorCode.NOT_FOUND, ((EtcdException) err).getErrorCode());
        assertTrue(err.getMessage().contains("etcdserver: requested lease not found"), err.getMessage());
      } finally {
        keeping.close();
      }
    }
  }

  @Test
  void keepAliveOnceRenewsTheTtl() throws Exception {
    long id = await(lease.grant(60)).getID();
    Thread.sleep(1100);
    LeaseTimeToLiveResponse aged = await(lease.timeToLive(id, LeaseOption.DEFAULT));
    assertEquals(60, aged.getGrantedTTL());
    assertTrue(aged.getTTL() >= 57 && aged.getTTL() <= 59, "remaining after 1.1 s: " + aged.getTTL());

    LeaseKeepAliveResponse once = await(lease.keepAliveOnce(id));
    assertEquals(id, once.getID());
    assertEquals(60, once.getTTL(), "a keep-alive answers with the granted TTL");
    LeaseTimeToLiveResponse renewed = await(lease.timeToLive(id, LeaseOption.DEFAULT));
    assertTrue(renewed.getTTL() >= 59 && renewed.getTTL() <= 60, "remaining after the renewal: " + renewed.getTTL());

    // an unknown lease: the server answers TTL 0, which jetcd reports as not found
    Throwable err = failure(() -> lease.keepAliveOnce(0x1234abcdL));
    assertInstanceOf(EtcdException.class, err, String.valueOf(err));
    assertEquals(ErrorCode.NOT_FOUND, ((EtcdException) err).getErrorCode());
    assertTrue(err.getMessage().contains("etcdserver: requested lease not found"), err.getMessage());

    // minimum and maximum TTL
    assertEquals(2, await(lease.grant(1)).getTTL(), "TTL 1 is raised to etcd's minimum, 2 s");
    Throwable tooLarge = failure(() -> lease.grant(9_000_000_001L));
    assertEquals(Status.Code.OUT_OF_RANGE, Status.fromThrowable(tooLarge).getCode(), String.valueOf(tooLarge));
    assertEquals("etcdserver: too large lease TTL", Status.fromThrowable(tooLarge).getDescription());
    await(lease.revoke(id));
  }

  @Test
  void timeToLiveWithKeys() {
    long id = await(lease.grant(60)).getID();
    await(kv.put(bs("ttl/b"), bs("1"), PutOption.builder().withLeaseId(id).build()));
    await(kv.put(bs("ttl/a"), bs("2"), PutOption.builder().withLeaseId(id).build()));
    await(kv.put(bs("ttl/c"), bs("no lease")));

    LeaseTimeToLiveResponse withKeys = await(lease.timeToLive(id, LeaseOption.builder().withAttachedKeys().build()));
    assertEquals(id, withKeys.getID());
    assertEquals(60, withKeys.getGrantedTTL());
    assertTrue(withKeys.getTTL() >= 58 && withKeys.getTTL() <= 60, "remaining " + withKeys.getTTL());
    assertEquals(Set.of("ttl/a", "ttl/b"), new HashSet<>(withKeys.getKeys().stream().map(JetcdKvTest::str).toList()));
    assertEquals(2, withKeys.getKeys().size());

    LeaseTimeToLiveResponse noKeys = await(lease.timeToLive(id, LeaseOption.DEFAULT));
    assertTrue(noKeys.getKeys().isEmpty(), "keys only when asked for: " + noKeys.getKeys());

    // moving a key to another lease (or to none) detaches it
    await(kv.put(bs("ttl/b"), bs("3")));
    assertEquals(List.of("ttl/a"), await(lease.timeToLive(id, LeaseOption.builder().withAttachedKeys().build()))
        .getKeys().stream().map(JetcdKvTest::str).toList());

    // an unknown lease is not an error: TTL -1, no granted TTL, no keys
    LeaseTimeToLiveResponse unknown = await(lease.timeToLive(0x1234abcdL, LeaseOption.builder().withAttachedKeys().build()));
    assertEquals(-1, unknown.getTTL());
    assertEquals(0, unknown.getGrantedTTL());
    assertTrue(unknown.getKeys().isEmpty());
    assertEquals(0x1234abcdL, unknown.getID());
    await(lease.revoke(id));
  }

  @Test
  void revokeDeletesAttachedKeysInOneRevision() {
    long id = await(lease.grant(60)).getID();
    await(kv.put(bs("rv/a"), bs("1"), PutOption.builder().withLeaseId(id).build()));
    await(kv.put(bs("rv/b"), bs("2"), PutOption.builder().withLeaseId(id).build()));
    long before = await(kv.put(bs("rv/c"), bs("3"))).getHeader().getRevision();

    Collector c = new Collector();
    try (Watch.Watcher w = watch.watch(bs("rv/"), WatchOption.builder().isPrefix(true).withPrevKV(true).withRevision(before + 1).build(), c)) {
      LeaseRevokeResponse revoked = await(lease.revoke(id));
      long rev = revoked.getHeader().getRevision();
      assertEquals(before + 1, rev, "the revoke deletes both keys in one revision");
      List<WatchEvent> ev = c.events(2, WAIT);
      assertEvent(ev.get(0), EventType.DELETE, "rv/a", "", 0, rev, 0);
      assertEvent(ev.get(1), EventType.DELETE, "rv/b", "", 0, rev, 0);
      assertKv(ev.get(0).getPrevKV(), "rv/a", "1", before - 2, before - 2, 1);
      assertEquals(id, ev.get(0).getPrevKV().getLease());
      c.assertNoMore(Duration.ofMillis(300));
    }
    List<KeyValue> left = await(kv.get(bs("rv/"), GetOption.builder().isPrefix(true).build())).getKvs();
    assertEquals(List.of("rv/c"), left.stream().map(e -> str(e.getKey())).toList());

    Throwable again = failure(() -> lease.revoke(id));
    assertEquals(Status.Code.NOT_FOUND, Status.fromThrowable(again).getCode(), String.valueOf(again));
    assertEquals("etcdserver: requested lease not found", Status.fromThrowable(again).getDescription());
    // and a put with the revoked lease
    Throwable put = failure(() -> kv.put(bs("rv/d"), bs("4"), PutOption.builder().withLeaseId(id).build()));
    assertEquals(Status.Code.NOT_FOUND, Status.fromThrowable(put).getCode(), String.valueOf(put));
    assertEquals("etcdserver: requested lease not found", Status.fromThrowable(put).getDescription());
  }

  @Test
  void leasesListing() {
    long a = await(lease.grant(60)).getID();
    long b = await(lease.grant(120)).getID();
    assertNotEquals(a, b);
    ManagedChannel ch = ManagedChannelBuilder.forAddress(member.host(), member.clientPort()).usePlaintext().build();
    try {
      LeaseGrpc.LeaseBlockingStub stub = LeaseGrpc.newBlockingStub(ch).withDeadlineAfter(15, TimeUnit.SECONDS);
      LeaseLeasesResponse listed = stub.leaseLeases(LeaseLeasesRequest.getDefaultInstance());
      Set<Long> ids = new HashSet<>();
      for (LeaseStatus s : listed.getLeasesList()) ids.add(s.getID());
      assertTrue(ids.containsAll(Set.of(a, b)), "listed " + ids);
      assertEquals(revision(), listed.getHeader().getRevision(), "the header carries the current revision");
      assertNotEquals(0, listed.getHeader().getMemberId());

      await(lease.revoke(a));
      Set<Long> after = new HashSet<>();
      for (LeaseStatus s : LeaseGrpc.newBlockingStub(ch).withDeadlineAfter(15, TimeUnit.SECONDS)
          .leaseLeases(LeaseLeasesRequest.getDefaultInstance()).getLeasesList()) {
        after.add(s.getID());
      }
      assertFalse(after.contains(a), "a revoked lease is not listed: " + after);
      assertTrue(after.contains(b), "listed " + after);
      await(lease.revoke(b));

      // a client-chosen id (not expressible in jetcd's grant): granted as asked, once
      long chosen = 0x77aa5511L;
      LeaseGrpc.LeaseBlockingStub grantStub = LeaseGrpc.newBlockingStub(ch).withDeadlineAfter(15, TimeUnit.SECONDS);
      io.etcetera.api.etcdserverpb.LeaseGrantResponse g = grantStub.leaseGrant(
          io.etcetera.api.etcdserverpb.LeaseGrantRequest.newBuilder().setID(chosen).setTTL(30).build());
      assertEquals(chosen, g.getID());
      assertEquals(30, g.getTTL());
      assertEquals("", g.getError());
      io.grpc.StatusRuntimeException dup = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
          () -> grantStub.leaseGrant(io.etcetera.api.etcdserverpb.LeaseGrantRequest.newBuilder().setID(chosen).setTTL(30).build()));
      assertEquals(Status.Code.FAILED_PRECONDITION, dup.getStatus().getCode(), String.valueOf(dup));
      assertEquals("etcdserver: lease already exists", dup.getStatus().getDescription());
      assertEquals(30, await(lease.timeToLive(chosen, LeaseOption.DEFAULT)).getGrantedTTL());
      await(lease.revoke(chosen));
    } finally {
      ch.shutdownNow();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  private long revision() {
    return await(kv.get(bs("any-key"))).getHeader().getRevision();
  }

  private void awaitGone(ByteSequence k, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (await(kv.get(k)).getCount() != 0) {
      if (System.nanoTime() > deadline) fail(str(k) + " still exists after " + timeout);
      sleep(50);
    }
  }

  private static StreamObserver<LeaseKeepAliveResponse> observer(LinkedBlockingQueue<LeaseKeepAliveResponse> responses,
      LinkedBlockingQueue<Throwable> errors, CountDownLatch completed) {
    return new StreamObserver<>() {
      @Override
      public void onNext(LeaseKeepAliveResponse r) {
        responses.add(r);
      }

      @Override
      public void onError(Throwable t) {
        errors.add(t);
      }

      @Override
      public void onCompleted() {
        completed.countDown();
      }
    };
  }

  private static void assertEvent(WatchEvent e, EventType type, String key, String value, long create, long mod, long version) {
    assertEquals(type, e.getEventType(), "event type of " + describe(e));
    assertKv(e.getKeyValue(), key, value, create, mod, version);
  }

  private static void assertKv(KeyValue kv, String key, String value, long create, long mod, long version) {
    String what = str(kv.getKey()) + "=" + str(kv.getValue()) + " create " + kv.getCreateRevision() + " mod "
        + kv.getModRevision() + " version " + kv.getVersion();
    assertEquals(key, str(kv.getKey()), what);
    assertEquals(value, str(kv.getValue()), what);
    assertEquals(create, kv.getCreateRevision(), "create revision of " + what);
    assertEquals(mod, kv.getModRevision(), "mod revision of " + what);
    assertEquals(version, kv.getVersion(), "version of " + what);
  }

  /** No previous pair: jetcd hands out an empty KeyValue. */
  private static void assertNoPrev(WatchEvent e) {
    KeyValue p = e.getPrevKV();
    assertTrue(p.getKey().isEmpty() && p.getModRevision() == 0, "no previous kv expected: " + describe(e));
  }

  private static String describe(WatchEvent e) {
    KeyValue kv = e.getKeyValue();
    return e.getEventType() + " " + str(kv.getKey()) + "=" + str(kv.getValue()) + "@" + kv.getModRevision();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Records what a watcher's listener receives. */
  static final class Collector implements Watch.Listener {
    final LinkedBlockingQueue<WatchResponse> queue = new LinkedBlockingQueue<>();
    final List<WatchResponse> responses = new java.util.concurrent.CopyOnWriteArrayList<>();
    final LinkedBlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    final CountDownLatch completed = new CountDownLatch(1);
    private final List<WatchEvent> pending = new ArrayList<>();

    @Override
    public void onNext(WatchResponse response) {
      responses.add(response);
      queue.add(response);
    }

    @Override
    public void onError(Throwable throwable) {
      errors.add(throwable);
    }

    @Override
    public void onCompleted() {
      completed.countDown();
    }

    /** The next response. */
    WatchResponse next(Duration timeout) {
      try {
        WatchResponse r = queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (r == null) throw new AssertionError("no watch response within " + timeout + "; errors " + errors);
        return r;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }

    /** The next {@code n} events, across as many responses as they come in. */
    List<WatchEvent> events(int n, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (pending.size() < n) {
        long left = deadline - System.nanoTime();
        WatchResponse r;
        try {
          r = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : null;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
        if (r == null) {
          throw new AssertionError("only " + pending.size() + " of " + n + " events within " + timeout + ": "
              + pending.stream().map(JetcdWatchLeaseTest::describe).toList() + "; errors " + errors);
        }
        assertFalse(r.isProgressNotify(), "unexpected progress notification");
        pending.addAll(r.getEvents());
      }
      List<WatchEvent> out = new ArrayList<>(pending.subList(0, n));
      pending.subList(0, n).clear();
      return out;
    }

    /** Nothing else arrives within {@code quiet}. */
    void assertNoMore(Duration quiet) {
      try {
        WatchResponse r = queue.poll(quiet.toMillis(), TimeUnit.MILLISECONDS);
        assertNull(r == null ? null : "response with " + r.getEvents().size() + " events, progress " + r.isProgressNotify(),
            "nothing more expected");
        assertTrue(pending.isEmpty(), "unexpected events: " + pending.stream().map(JetcdWatchLeaseTest::describe).toList());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }

    Throwable error(Duration timeout) {
      try {
        Throwable t = errors.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (t == null) throw new AssertionError("no error within " + timeout + "; responses " + responses.size());
        return t;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }

    boolean completedWithin(Duration timeout) {
      try {
        return completed.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
