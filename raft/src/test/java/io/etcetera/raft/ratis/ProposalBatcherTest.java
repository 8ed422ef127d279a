package io.etcetera.raft.ratis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.RequestHeader;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ProposalBatcherTest {
  private record Sent(byte[] entry, boolean alone, CompletableFuture<Void> outcome, Thread thread) {}

  private final BlockingQueue<Sent> sent = new LinkedBlockingQueue<>();
  private final ProposalBatcher batcher = new ProposalBatcher("test-batcher", 1, (entry, alone) -> {
    CompletableFuture<Void> f = new CompletableFuture<>();
    sent.add(new Sent(entry, alone, f, Thread.currentThread()));
    return f;
  });

  @AfterEach
  void close() {
    batcher.close();
  }

  private static InternalRaftRequest put(long id, String key) {
    return InternalRaftRequest.newBuilder()
        .setHeader(RequestHeader.newBuilder().setID(id))
        .setPut(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)))
        .build();
  }

  private static byte[] fragment(InternalRaftRequest r) {
    return InternalRaftRequest.newBuilder().addBatch(r.toByteString()).build().toByteArray();
  }

  private static List<InternalRaftRequest> unpack(byte[] entry) throws Exception {
    List<InternalRaftRequest> out = new ArrayList<>();
    for (ByteString b : InternalRaftRequest.parseFrom(entry).getBatchList()) {
      out.add(InternalRaftRequest.parseFrom(b));
    }
    return out;
  }

  /**
   * Outcomes reach the proposals on whichever thread completes the entry, or on the batcher's
   * thread if the entry completed before the batcher attached to it: wait for them.
   */
  private static void awaitSize(List<Throwable> outcomes, int size) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (outcomes.size() < size && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertEquals(size, outcomes.size());
  }

  private Sent next() throws InterruptedException {
    Sent s = sent.poll(5, TimeUnit.SECONDS);
    assertTrue(s != null, "an entry was sent");
    return s;
  }

  @Test
  void aLoneProposalLeavesAtOnceAsAnEntryOfItsOwn() throws Exception {
    batcher.add(fragment(put(1, "a")), false, e -> { });
    assertEquals(List.of(put(1, "a")), unpack(next().entry()));
  }

  @Test
  void aLoneProposalIsSentFromTheProposingThread() throws Exception {
    batcher.add(fragment(put(1, "a")), false, e -> { });
    assertSame(Thread.currentThread(), next().thread(), "nothing queued or in flight: no hand-off");
  }

  @Test
  void aProposalMadeWhileEarlierOnesWaitLeavesAfterThem() throws Exception {
    batcher.add(fragment(put(1, "a")), false, e -> { });
    Sent first = next();
    batcher.add(fragment(put(2, "b")), false, e -> { });
    first.outcome().complete(null); // the slot frees while put 2 still waits to be sent
    batcher.add(fragment(put(3, "c")), false, e -> { });
    List<InternalRaftRequest> order = new ArrayList<>();
    while (order.size() < 2) {
      Sent s = next();
      order.addAll(unpack(s.entry()));
      s.outcome().complete(null);
    }
    assertEquals(List.of(put(2, "b"), put(3, "c")), order, "a later proposal never overtakes a waiting one");
  }

  @Test
  void proposalsArrivingWhileAnEntryIsInFlightLeaveTogetherInOrder() throws Exception {
    List<Throwable> outcomes = new java.util.concurrent.CopyOnWriteArrayList<>();
    batcher.add(fragment(put(1, "a")), false, e -> { });
    Sent first = next();
    for (int i = 2; i <= 5; i++) {
      batcher.add(fragment(put(i, "k" + i)), false, outcomes::add);
    }
    Thread.sleep(50);
    assertTrue(sent.isEmpty(), "one entry in flight: the others wait");
    first.outcome().complete(null);
    Sent second = next();
    assertEquals(List.of(put(2, "k2"), put(3, "k3"), put(4, "k4"), put(5, "k5")), unpack(second.entry()));
    second.outcome().complete(null);
    awaitSize(outcomes, 4);
    outcomes.forEach(e -> assertNull(e, "each proposal hears its entry's success"));
  }

  @Test
  void anEntryFailureReachesEveryProposalInIt() throws Exception {
    List<Throwable> outcomes = new java.util.concurrent.CopyOnWriteArrayList<>();
    batcher.add(fragment(put(1, "a")), false, e -> { });
    Sent first = next();
    batcher.add(fragment(put(2, "b")), false, outcomes::add);
    batcher.add(fragment(put(3, "c")), false, outcomes::add);
    first.outcome().complete(null);
    IllegalStateException failure = new IllegalStateException("lost");
    next().outcome().completeExceptionally(failure);
    awaitSize(outcomes, 2);
    outcomes.forEach(e -> assertSame(failure, e));
  }

  @Test
  void aProposalMarkedAloneTravelsInAnEntryOfItsOwn() throws Exception {
    batcher.add(fragment(put(1, "a")), false, e -> { });
    Sent first = next();
    batcher.add(fragment(put(2, "b")), false, e -> { });
    batcher.add(fragment(put(3, "member")), true, e -> { });
    batcher.add(fragment(put(4, "c")), false, e -> { });
    first.outcome().complete(null);
    Sent a = next();
    assertEquals(List.of(put(2, "b")), unpack(a.entry()));
    assertFalse(a.alone());
    a.outcome().complete(null);
    Sent b = next();
    assertEquals(List.of(put(3, "member")), unpack(b.entry()));
    assertTrue(b.alone(), "the sender learns that the entry must stay alone (a follower tells the leader)");
    b.outcome().complete(null);
    Sent c = next();
    assertEquals(List.of(put(4, "c")), unpack(c.entry()));
    assertFalse(c.alone());
  }

  @Test
  void entriesStayUnderTheSizeLimit() throws Exception {
    batcher.add(fragment(put(1, "a")), false, e -> { });
    Sent first = next();
    byte[] big = new byte[ProposalBatcher.MAX_ENTRY_BYTES / 3];
    int proposals = 5;
    for (int i = 0; i < proposals; i++) {
      batcher.add(big, false, e -> { });
    }
    first.outcome().complete(null);
    int seen = 0;
    while (seen < proposals) {
      Sent s = next();
      assertTrue(s.entry().length <= ProposalBatcher.MAX_ENTRY_BYTES);
      seen += s.entry().length / big.length;
      s.outcome().complete(null);
    }
    assertEquals(proposals, seen);
  }

  @Test
  void concatenatedFragmentsAreOneEncodedEntry() throws Exception {
    byte[] both = new byte[0];
    for (InternalRaftRequest r : List.of(put(7, "x"), put(8, "y"))) {
      byte[] f = fragment(r);
      byte[] joined = new byte[both.length + f.length];
      System.arraycopy(both, 0, joined, 0, both.length);
      System.arraycopy(f, 0, joined, both.length, f.length);
      both = joined;
    }
    // a follower's fragment (several requests) joins the leader's entry unchanged
    batcher.add(fragment(put(1, "a")), false, e -> { });
    Sent first = next();
    batcher.add(both, false, e -> { });
    batcher.add(fragment(put(9, "z")), false, e -> { });
    first.outcome().complete(null);
    assertArrayEquals(new Object[] {put(7, "x"), put(8, "y"), put(9, "z")}, unpack(next().entry()).toArray());
  }
}
