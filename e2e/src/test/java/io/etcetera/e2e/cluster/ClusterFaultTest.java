package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Workdirs;
import io.etcetera.e2e.linearizability.ClientTls;
import io.etcetera.e2e.linearizability.History;
import io.etcetera.e2e.linearizability.LinearizabilityChecker;
import io.etcetera.e2e.linearizability.LinearizabilityWorkload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Faults in a 3-member cluster, observed through etcdctl: the leader killed with SIGKILL under
 * writes, a member left alone without quorum, and the leader cut off by a network partition. The
 * expected error texts are what etcd 3.4.23 prints ({@code -De2e.binary=etcd}); the request timeouts
 * behind them are etcd's defaults (heartbeat 100 ms, election 1000 ms, so a server-side request
 * timeout of 5 s + 2 x 1 s = 7 s).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ClusterFaultTest {

  /**
   * What etcdctl 3.4 prints when its {@code --command-timeout} expires: the client's own deadline
   * error, or, as etcd propagates the gRPC deadline to the server, the server's answer (its context
   * error, unmapped: gRPC code Unknown) when that arrives first. Both are seen with etcd 3.4.23.
   */
  static final List<String> DEADLINE_ERRORS =
      List.of("context deadline exceeded", "rpc error: code = Unknown desc = context deadline exceeded");
  /**
   * A put on a member without a leader: etcd 3.4 cannot hand the proposal to raft, gives up after
   * its 7 s request timeout and returns the context error unmapped (gRPC code Unknown).
   */
  static final String PUT_WITHOUT_LEADER = "rpc error: code = Unknown desc = context deadline exceeded";
  /** A linearizable read on a member without a leader: the server's answer after 7 s (etcdctl retries it). */
  static final String READ_TIMED_OUT = "rpc error: code = Unavailable desc = etcdserver: request timed out";
  /** {@code endpoint status} on a member without a leader lists this in {@code errors}. */
  static final String NO_LEADER = "etcdserver: no leader";

  /**
   * Kill -9 of the leader while three clients write distinct keys through the two other members:
   * a new leader is elected among them, writes go on, no acknowledged put is lost, and the killed
   * member comes back on its data dir and catches up. Meanwhile a {@link LinearizabilityWorkload}
   * runs through all three members; its history must be linearizable.
   */
  @Test
  void killingTheLeaderUnderWritesLosesNoAcknowledgedPut(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    try (Cluster c = Cluster.start(work, 3, false)) {
      int leader = c.leaderIndex();
      List<Integer> survivors = others(leader, 3);

      // besides the writers: raw gRPC clients doing reads, writes and compare-and-swaps on a few
      // keys through all three members, their history checked for linearizability at the end
      LinearizabilityWorkload.Handle workload = LinearizabilityWorkload.start(c.endpoints(), clientTls(c), 4, 4);
      Writers writers = new Writers(c, survivors, 3, "fault/kill/");
      History history;
      try {
        writers.awaitAcks(15, Duration.ofSeconds(60));
        c.kill9(leader);
        int ackedAtKill = writers.acks();

        int newLeader = c.awaitLeader(Duration.ofSeconds(60), ints(survivors));
        assertNotEquals(leader, newLeader);
        writers.awaitAcks(ackedAtKill + 15, Duration.ofSeconds(60)); // writes resume
      } finally {
        writers.stop();
        history = workload.stop();
      }
      history.writeTo(work.resolve("history.txt"));
      LinearizabilityChecker.Result lin = LinearizabilityChecker.check(history);
      assertTrue(lin.ok(), "history of the workload (" + workload.summary() + "):\n" + lin.describe());
      assertTrue(history.counts().okWrites() > 0, workload::summary);

      Map<String, String> acked = writers.acked();
      assertTrue(acked.size() >= 30, "acknowledged puts: " + acked.size());

      Map<String, String> stored = getPrefix(c, survivors.get(0), "fault/kill/", false);
      for (Map.Entry<String, String> e : acked.entrySet()) {
        assertEquals(e.getValue(), stored.get(e.getKey()), "acknowledged put of " + e.getKey() + " is lost");
      }
      for (Map.Entry<String, String> e : stored.entrySet()) {
        assertEquals(Writers.valueOf(e.getKey()), e.getValue(), "a key holds a value that was never written");
      }
      assertEquals(stored, getPrefix(c, survivors.get(1), "fault/kill/", false), "the survivors disagree");

      c.restart(leader);
      // the restarted member catches up: its local (serializable) view converges to the cluster's
      awaitEquals(stored, () -> getPrefix(c, leader, "fault/kill/", true), Duration.ofSeconds(60),
          "serializable get --prefix on the restarted member " + leader);
      assertEquals(stored, getPrefix(c, leader, "fault/kill/", false));
      c.awaitLeader(Duration.ofSeconds(60), 1, 2, 3);
    }
  }

  /**
   * Leadership handed back and forth with {@code move-leader} six times while clients write fresh
   * keys through all three members: a proposal in flight when its leader steps down is resent to
   * the next leader or fails, so no acknowledged put is lost and none is applied twice (every key is
   * written by one put, so each stored key must have version 1). A {@link LinearizabilityWorkload}
   * runs meanwhile; its history must be linearizable. Every move must succeed unless the third
   * member won the election instead (a machine starved of CPU can time an election out), as with
   * etcd: a member's second transfer soon after its first used to be answered "leader transfer took
   * too long" by the first one's timer in Ratis although leadership moved.
   */
  @Test
  void movingLeadershipUnderWritesAppliesEachPutAtMostOnceAndLosesNoAcknowledgedPut(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    try (Cluster c = Cluster.start(work, 3, false)) {
      LinearizabilityWorkload.Handle workload = LinearizabilityWorkload.start(c.endpoints(), clientTls(c), 4, 4);
      Writers writers = new Writers(c, List.of(1, 2, 3), 3, "fault/move/etcdctl/");
      PipelinedWriters pipelined = new PipelinedWriters(c, "fault/move/grpc/", 8);
      History history;
      try {
        writers.awaitAcks(10, Duration.ofSeconds(60));
        // back and forth between two members, so that each starts a transfer soon after its last one
        int first = c.leaderIndex();
        int[] pair = {first, others(first, 3).get(0)};
        for (int round = 0; round < 6; round++) {
          int leader = c.leaderIndex();
          int target = leader == pair[0] ? pair[1] : pair[0];
          Etcdctl.Result moved = c.etcdctlTimeout(leader, "10s", "move-leader", c.member(target).id());
          int now = c.awaitLeader(Duration.ofSeconds(60), 1, 2, 3);
          if (moved.exitCode() == 0) {
            assertEquals(target, now, "leader after move-leader in round " + round);
          } else {
            // the one failure etcd has too: the transferee lost its election to the third member
            assertTrue(now != target && now != leader, "move-leader in round " + round + " failed while member "
                + now + " leads" + moved.describe());
          }
          writers.awaitAcks(writers.acks() + 3, Duration.ofSeconds(60)); // writes go on under the new leader
        }
      } finally {
        writers.stop();
        pipelined.stop();
        history = workload.stop();
      }
      history.writeTo(work.resolve("history.txt"));
      LinearizabilityChecker.Result lin = LinearizabilityChecker.check(history);
      assertTrue(lin.ok(), "history of the workload (" + workload.summary() + "):\n" + lin.describe());

      Map<String, String> acked = new TreeMap<>(writers.acked());
      acked.putAll(pipelined.acked());
      assertTrue(pipelined.acked().size() >= 100, "puts acknowledged through gRPC: " + pipelined.acked().size());
      Map<String, String> stored = getPrefix(c, c.leaderIndex(), "fault/move/", false);
      for (Map.Entry<String, String> e : acked.entrySet()) {
        assertEquals(e.getValue(), stored.get(e.getKey()), "acknowledged put of " + e.getKey() + " is lost");
      }
      for (Map.Entry<String, Long> e : versionsByKey(c, c.leaderIndex(), "fault/move/").entrySet()) {
        assertEquals(1L, e.getValue(), "version of " + e.getKey() + ", written by a single put");
      }
      for (int i = 1; i <= 3; i++) {
        assertEquals(stored, getPrefix(c, i, "fault/move/", false), "linearizable view of member " + i);
      }
    }
  }

  /** {@code get <prefix> --prefix -w json} on member {@code i}: each key's version. */
  static Map<String, Long> versionsByKey(Cluster c, int i, String prefix) {
    JsonNode kvs = c.etcdctl(i, "get", prefix, "--prefix", "-w", "json").json().path("kvs");
    Map<String, Long> m = new TreeMap<>();
    for (JsonNode kv : kvs) {
      String key = new String(java.util.Base64.getDecoder().decode(kv.get("key").asText()),
          java.nio.charset.StandardCharsets.UTF_8);
      m.put(key, kv.get("version").asLong());
    }
    return m;
  }

  /**
   * Two of three members stopped: the survivor has no quorum, so a put fails, a linearizable get
   * fails, and a serializable get still answers from its local data; once the two are back,
   * writes work again.
   */
  @Test
  void survivorWithoutQuorumRefusesPutsAndLinearizableReadsButServesSerializableReads(TestInfo info)
      throws Exception {
    try (Cluster c = Cluster.start(Workdirs.of(info), 3, false)) {
      String key = "fault/quorum";
      c.etcdctl(1, "put", key, "before").ok();
      assertEquals(List.of(key, "before"), c.etcdctl(3, "get", key).lines()); // member 3 has applied it

      c.stop(1);
      c.stop(2);
      awaitNoLeader(c, 3);

      // a command timeout beyond etcd's 7 s request timeout, so that the server's own answer shows
      CompletableFuture<Etcdctl.Result> put = async(() -> c.etcdctlTimeout(3, "10s", "put", key, "lost"));
      CompletableFuture<Etcdctl.Result> get = async(() -> c.etcdctlTimeout(3, "10s", "get", key));
      put.get().fails(PUT_WITHOUT_LEADER);
      assertTimedOutRead(get.get());

      assertEquals(List.of(key, "before"), c.etcdctl(3, "get", key, "--consistency=s").lines());

      Etcdctl.Result health = c.etcdctlTimeout(3, "2s", "endpoint", "health").fails("unhealthy cluster");
      String unhealthy = c.endpoint(3) + " is unhealthy: failed to commit proposal: ";
      assertTrue(DEADLINE_ERRORS.stream().anyMatch(e -> health.stderr().contains(unhealthy + e + "\n")), health.describe());

      c.restart(1, 2);
      assertEquals("OK\n", c.etcdctl(3, "put", key, "after").ok());
      for (int i = 1; i <= 3; i++) assertEquals(List.of(key, "after"), c.etcdctl(i, "get", key).lines(), "member " + i);
    }
  }

  /**
   * The leader cut off from both followers (peer traffic dropped both ways by {@link FaultProxy};
   * clients still reach it): the followers elect a new leader and commit, the old leader commits
   * nothing; after healing there is one leader again and every member has the same data.
   */
  /**
   * A follower's writes reach a leader that was stopped and started again: the follower's
   * connection to that member broke when it stopped, and once the restarted member leads again a
   * write through the follower is forwarded to it at once (not after the request timeout).
   */
  @Test
  void writesThroughAFollowerReachALeaderThatWasRestarted(TestInfo info) {
    try (Cluster c = Cluster.start(Workdirs.of(info), 3, false)) {
      int leader = c.leaderIndex();
      int via = others(leader, 3).get(0);
      assertEquals("OK\n", c.etcdctl(via, "put", "restarted/before", "1").ok()); // forwarded to the leader

      c.stop(leader);
      c.awaitLeader(Duration.ofSeconds(60), others(leader, 3).stream().mapToInt(Integer::intValue).toArray());
      c.restart(leader);
      int now = c.leaderIndex();
      if (now != leader) {
        c.etcdctl(now, "move-leader", c.member(leader).id()).ok();
      }
      assertEquals(leader, c.awaitLeader(Duration.ofSeconds(60), 1, 2, 3));

      // well within etcd's 7 s request timeout
      assertEquals("OK\n", c.etcdctlTimeout(via, "4s", "put", "restarted/after", "2").ok());
      for (int i = 1; i <= 3; i++) {
        assertEquals(List.of("restarted/after", "2"), c.etcdctl(i, "get", "restarted/after").lines(), "member " + i);
      }
    }
  }

  @Test
  void isolatedLeaderCannotCommitWhileTheMajorityElectsANewLeaderAndCommits(TestInfo info) throws Exception {
    try (Cluster c = Cluster.builder(Workdirs.of(info)).size(3).peerProxies(true).start()) {
      int old = c.leaderIndex();
      List<Integer> majority = others(old, 3);
      String before = "fault/partition/before";
      String during = "fault/partition/majority";
      String lost = "fault/partition/isolated";
      c.etcdctl(old, "put", before, "1").ok();
      for (int i : majority) assertEquals(List.of(before, "1"), c.etcdctl(i, "get", before).lines());

      c.isolate(old);
      int newLeader = c.awaitLeader(Duration.ofSeconds(60), ints(majority));
      assertNotEquals(old, newLeader);
      // the old leader notices it lost its quorum and steps down (etcd: check-quorum after an election
      // timeout); from then on it has no leader, and proposals on it cannot even enter the raft log
      awaitNoLeader(c, old);

      CompletableFuture<Etcdctl.Result> put = async(() -> c.etcdctlTimeout(old, "10s", "put", lost, "x"));
      CompletableFuture<Etcdctl.Result> get = async(() -> c.etcdctlTimeout(old, "10s", "get", before));
      assertEquals("OK\n", c.etcdctl(newLeader, "put", during, "2").ok());
      for (int i : majority) assertEquals(List.of(during, "2"), c.etcdctl(i, "get", during).lines(), "member " + i);
      Etcdctl.Result isolatedPut = put.get();
      Etcdctl.Result isolatedGet = get.get();
      isolatedPut.fails(PUT_WITHOUT_LEADER);
      assertTimedOutRead(isolatedGet);
      // its local view: what it had, nothing of the majority's write
      assertEquals(List.of(before, "1"), c.etcdctl(old, "get", before, "--consistency=s").lines());
      assertEquals(List.of(), c.etcdctl(old, "get", during, "--consistency=s").lines());

      c.heal();
      c.awaitLeader(Duration.ofSeconds(60), 1, 2, 3);
      Map<String, String> expected = new TreeMap<>(Map.of(before, "1", during, "2"));
      for (int i = 1; i <= 3; i++) {
        assertEquals(expected, getPrefix(c, i, "fault/partition/", false), "linearizable view of member " + i);
      }
      awaitEquals(expected, () -> getPrefix(c, old, "fault/partition/", true), Duration.ofSeconds(30),
          "serializable view of the formerly isolated member " + old);
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** Client threads putting fresh keys {@code <prefix><thread>/<n>} (value {@link #valueOf}) through fixed members. */
  static final class Writers {
    private final Map<String, String> acked = new ConcurrentHashMap<>();
    private final AtomicInteger acks = new AtomicInteger();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<Thread> threads = new ArrayList<>();

    Writers(Cluster c, List<Integer> via, int clients, String prefix) {
      for (int t = 0; t < clients; t++) {
        String endpoint = c.endpoint(via.get(t % via.size()));
        String keyPrefix = prefix + t + "/";
        Thread th = new Thread(() -> {
          for (int n = 0; !stop.get(); n++) {
            String key = keyPrefix + n;
            Etcdctl.Result r = c.etcdctlAt(List.of(endpoint), "5s", "put", key, valueOf(key));
            if (r.exitCode() == 0 && r.stdout().equals("OK\n")) {
              acked.put(key, valueOf(key));
              acks.incrementAndGet();
            }
          }
        }, "cluster-writer-" + t);
        th.setDaemon(true);
        threads.add(th);
        th.start();
      }
    }

    static String valueOf(String key) {
      return "v:" + key;
    }

    int acks() {
      return acks.get();
    }

    Map<String, String> acked() {
      return new TreeMap<>(acked);
    }

    void awaitAcks(int n, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (acks.get() < n) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("only " + acks.get() + " of " + n + " puts acknowledged within " + timeout);
        }
        Cluster.sleep(50);
      }
    }

    void stop() throws InterruptedException {
      stop.set(true);
      for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(60));
    }
  }

  /**
   * Asynchronous gRPC puts of fresh keys {@code <prefix><n>} (value {@link Writers#valueOf}), a
   * fixed number in flight through each member of a plain-text cluster, so that proposals are in
   * flight whenever something happens to the leader. A failed put's outcome is unknown: it is not
   * counted as acknowledged, and its key is not reused.
   */
  static final class PipelinedWriters {
    private final Map<String, String> acked = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong next = new java.util.concurrent.atomic.AtomicLong();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<io.grpc.ManagedChannel> channels = new ArrayList<>();
    private final java.util.concurrent.ScheduledExecutorService retries =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    private final String prefix;

    PipelinedWriters(Cluster c, String prefix, int perMember) {
      this.prefix = prefix;
      for (int i = 1; i <= 3; i++) {
        java.net.URI u = java.net.URI.create(c.endpoint(i));
        io.grpc.ManagedChannel ch = io.grpc.netty.NettyChannelBuilder.forAddress(u.getHost(), u.getPort()).usePlaintext().build();
        channels.add(ch);
        io.etcd.jetcd.api.KVGrpc.KVStub kv = io.etcd.jetcd.api.KVGrpc.newStub(ch);
        for (int k = 0; k < perMember; k++) {
          inFlight.incrementAndGet();
          send(kv);
        }
      }
    }

    private void send(io.etcd.jetcd.api.KVGrpc.KVStub kv) {
      if (stop.get()) {
        inFlight.decrementAndGet();
        return;
      }
      String key = prefix + next.getAndIncrement();
      io.etcd.jetcd.api.PutRequest put = io.etcd.jetcd.api.PutRequest.newBuilder()
          .setKey(com.google.protobuf.ByteString.copyFromUtf8(key))
          .setValue(com.google.protobuf.ByteString.copyFromUtf8(Writers.valueOf(key))).build();
      kv.withDeadlineAfter(5, TimeUnit.SECONDS).put(put, new io.grpc.stub.StreamObserver<>() {
        @Override
        public void onNext(io.etcd.jetcd.api.PutResponse r) {
          acked.put(key, Writers.valueOf(key));
        }

        @Override
        public void onError(Throwable t) {
          retries.schedule(() -> send(kv), 100, TimeUnit.MILLISECONDS);
        }

        @Override
        public void onCompleted() {
          send(kv);
        }
      });
    }

    Map<String, String> acked() {
      return new TreeMap<>(acked);
    }

    /** Sends no more puts and waits for those in flight. */
    void stop() {
      stop.set(true);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (inFlight.get() > 0 && System.nanoTime() < deadline) Cluster.sleep(50);
      retries.shutdownNow();
      for (io.grpc.ManagedChannel ch : channels) ch.shutdownNow();
      assertEquals(0, inFlight.get(), "puts still in flight 30 s after the writers stopped");
    }
  }

  /** {@code get <prefix> --prefix [--consistency=s]} on member {@code i} as a sorted map. */
  static Map<String, String> getPrefix(Cluster c, int i, String prefix, boolean serializable) {
    Etcdctl.Result r = serializable
        ? c.etcdctl(i, "get", prefix, "--prefix", "--consistency=s")
        : c.etcdctl(i, "get", prefix, "--prefix");
    List<String> lines = r.lines();
    if (r.exitCode() != 0 || lines.size() % 2 != 0) throw new AssertionError("get --prefix on member " + i + r.describe());
    Map<String, String> m = new TreeMap<>();
    for (int k = 0; k < lines.size(); k += 2) m.put(lines.get(k), lines.get(k + 1));
    return m;
  }

  static <T> void awaitEquals(T expected, Supplier<T> actual, Duration timeout, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    T last;
    while (!expected.equals(last = actual.get())) {
      if (System.nanoTime() > deadline) assertEquals(expected, last, what + " after " + timeout);
      Cluster.sleep(200);
    }
  }

  /**
   * A linearizable get with {@code --command-timeout=10s} on a member without a leader: the server
   * answers the first attempt after its 7 s request timeout with {@value #READ_TIMED_OUT}, etcdctl
   * retries (code Unavailable) until its deadline, then fails with a {@link #DEADLINE_ERRORS deadline error}.
   */
  static void assertTimedOutRead(Etcdctl.Result r) {
    assertEquals(1, r.exitCode(), r.describe());
    assertTrue(DEADLINE_ERRORS.contains(r.error()), "error of a linearizable get without leader" + r.describe());
    assertEquals(READ_TIMED_OUT, r.grpcErrors().get(0), r.describe());
  }

  /** Waits until {@code endpoint status} on member {@code i} reports no leader ({@value #NO_LEADER}). */
  static void awaitNoLeader(Cluster c, int i) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    JsonNode st;
    while (true) {
      st = c.status(i);
      boolean noLeader = "0".equals(Cluster.hexId(st.get("leader")));
      List<String> errors = ClusterFormationTest.texts(st.get("errors"));
      if (noLeader && errors.contains(NO_LEADER)) return;
      assertFalse(System.nanoTime() > deadline, "member " + i + " still reports a leader: " + st);
      Cluster.sleep(200);
    }
  }

  /** The linearizability workload's TLS settings for the cluster's etcdctl client certificate (null if plain). */
  static ClientTls clientTls(Cluster c) {
    TlsFiles t = c.tlsFiles();
    return t == null ? null : new ClientTls(t.ca(), t.clientCert(), t.clientKey());
  }

  /** Runs {@code task} on a thread of its own (the common pool may have a single thread on 2 cores). */
  static <T> CompletableFuture<T> async(Supplier<T> task) {
    CompletableFuture<T> f = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        f.complete(task.get());
      } catch (Throwable e) {
        f.completeExceptionally(e);
      }
    }, "cluster-test-async");
    t.setDaemon(true);
    t.start();
    return f;
  }

  static List<Integer> others(int member, int size) {
    List<Integer> o = new ArrayList<>();
    for (int i = 1; i <= size; i++) if (i != member) o.add(i);
    return o;
  }

  static int[] ints(List<Integer> l) {
    return l.stream().mapToInt(Integer::intValue).toArray();
  }
}
