package io.etcetera.mvcc.watch;

import static io.etcetera.mvcc.watch.Inbox.evs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.mvcc.testutil.ApplyFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A client that stops reading: bounded memory, it falls behind alone, and catches up exactly once. */
class SlowConsumerTest {
  @TempDir
  Path dir;
  ApplyFixture fx;
  WatchHub hub;
  final List<String> written = new ArrayList<>();
  int[] versions = new int[100];
  long[] creates = new long[100];

  @BeforeEach
  void open() {
    fx = ApplyFixture.open(dir);
    hub = fx.hub();
  }

  @AfterEach
  void close() {
    fx.close();
  }

  private void put(int key, String value) {
    long rev = fx.put("k" + key, value).getHeader().getRevision();
    if (versions[key]++ == 0) {
      creates[key] = rev;
    }
    written.add("PUT k" + key + "=" + value + " c" + creates[key] + " m" + rev + " v" + versions[key]);
  }

  /** The bytes the stream accounts for one of these events. */
  private static long eventBytes(int key, String value) {
    return WatchHub.bytes(List.of(io.etcetera.api.mvccpb.Event.newBuilder()
        .setKv(io.etcetera.api.mvccpb.KeyValue.newBuilder()
            .setKey(Inbox.bs("k" + key)).setValue(Inbox.bs(value))).build()));
  }

  @Test
  void aStreamNotReadStopsGrowingAtItsItemBoundWhileOthersKeepReceiving() {
    Inbox slow = new Inbox(hub);
    Watcher sw = slow.watch("\0", "\0", 0);
    Watcher quiet = slow.watch("nobody-writes-this", "", 0);
    Inbox fast = new Inbox(hub);
    Watcher fw = fast.watch("k", "l", 0);
    long maxEventBytes = eventBytes(99, "v99999");
    long bytesAt10k = -1;
    for (int i = 0; i < 50_000; i++) {
      put(i % 100, "v" + i);
      if (i % 100 == 0) {
        fast.drain();
      }
      if (i % 1000 == 0) {
        long q = slow.stream.queuedBytes();
        assertTrue(q <= WatchStream.MAX_EVENT_BYTES, () -> "queued " + q);
        assertTrue(q <= WatchStream.MAX_EVENT_ITEMS * maxEventBytes, () -> "more than the item bound: " + q + " bytes");
      }
      if (i == 10_000) {
        bytesAt10k = slow.stream.queuedBytes();
      }
    }
    assertEquals(bytesAt10k, slow.stream.queuedBytes(), "the slow stream's queue grew after reaching its bound");
    // the slow watcher fell behind; the idle one on the same stream and the fast stream did not
    assertEquals(1, hub.groupSizes()[1]);
    assertTrue(!sw.synced);
    assertTrue(quiet.synced);
    assertTrue(fw.synced);
    fast.drain();
    Inbox.assertSameList(written, evs(fast.events(fw.id())));

    // the client reads again: the watcher catches up from storage and sees every event once, in order
    slow.awaitEvents(sw.id(), written.size());
    Inbox.awaitTrue("the slow watcher is synced again", () -> hub.groupSizes()[1] == 0);
    put(7, "after");
    slow.drain();
    Inbox.assertSameList(written, evs(slow.events(sw.id())));
    WatchCatchUpTest.assertWellFormed(slow.received, sw.id());
    int items = 0;
    for (Outbound o : slow.received) {
      if (o instanceof Outbound.Events) {
        items++;
      }
    }
    assertTrue(items < written.size(), "the catch-up came in batches of revisions, not one response each");
  }

  @Test
  void aStreamNotReadStopsGrowingAtItsByteBound() {
    Inbox slow = new Inbox(hub);
    Watcher sw = slow.watch("\0", "\0", 0);
    String big = "x".repeat(64 << 10);
    long maxQueued = 0;
    for (int i = 0; i < 400; i++) { // 25 MiB of values
      put(i % 100, big + i);
      maxQueued = Math.max(maxQueued, slow.stream.queuedBytes());
    }
    assertTrue(maxQueued <= WatchStream.MAX_EVENT_BYTES, "queued " + maxQueued);
    assertTrue(maxQueued > WatchStream.MAX_EVENT_BYTES - eventBytes(99, big + 399) - 1, "the bound was reached");
    assertTrue(!sw.synced);
    slow.awaitEvents(sw.id(), written.size());
    Inbox.awaitTrue("synced again", () -> hub.groupSizes()[1] == 0);
    slow.drain();
    assertEquals(written.size(), slow.events(sw.id()).size());
    Inbox.assertSameList(written, evs(slow.events(sw.id())));
  }

  @Test
  void aSingleResponseLargerThanTheByteBoundStillGoesThroughAnEmptyQueue() {
    Inbox in = new Inbox(hub);
    Watcher w = in.watch("\0", "\0", 0);
    in.drain();
    String huge = "y".repeat((int) WatchStream.MAX_EVENT_BYTES + 1000);
    put(1, huge);
    in.drain();
    assertEquals(1, in.events(w.id()).size());
    assertTrue(w.synced);
  }

  @Test
  void aSlowStreamsControlResponsesAreNotLost() {
    Inbox slow = new Inbox(hub);
    Watcher sw = slow.watch("\0", "\0", 0);
    while (sw.synced) {
      put(1, "v");
    }
    // the queue is full of events: creates and cancels are still answered, in order
    Watcher later = slow.watch("late", "", 0);
    hub.cancel(slow.stream, later.id());
    slow.awaitEvents(sw.id(), written.size());
    List<Outbound> control = new ArrayList<>();
    for (Outbound o : slow.received) {
      if (!(o instanceof Outbound.Events)) {
        control.add(o);
      }
    }
    assertEquals(3, control.size(), () -> control.toString());
    assertEquals(new Outbound.Created(later.id(), fx.revision(), false, ""), control.get(1));
    assertEquals(new Outbound.Canceled(later.id(), fx.revision(), 0, ""), control.get(2));
  }

  @Test
  void aCatchUpBatchThatDoesNotFitTheRoomLeftDoesNotSpinTheSyncThread() throws Exception {
    // 1000 revisions of 64-op txns: a catch-up batch of 64,000 small events (about 4.4 MB as the
    // stream counts them) although their keys and values are far below the 2 MiB catch-up limit
    for (int b = 0; b < 100; b++) {
      List<io.etcetera.api.etcdserverpb.InternalRaftRequest> reqs = new ArrayList<>();
      for (int t = 0; t < 10; t++) {
        var txn = io.etcetera.mvcc.testutil.Req.txn();
        for (int k = 0; k < 64; k++) {
          txn.addSuccess(io.etcetera.mvcc.testutil.Req.op(io.etcetera.mvcc.testutil.Req.put(String.format("t/%03d", k), "")));
        }
        reqs.add(io.etcetera.mvcc.testutil.Req.raft(txn.build()));
      }
      fx.applyGroup(reqs);
    }
    Inbox in = new Inbox(hub);
    in.watch("big", "", 0);
    fx.put("big", "b".repeat((int) (WatchStream.MAX_EVENT_BYTES / 2) - 200_000)); // queued, unread: the stream has room
    Watcher w = in.watch("t/", "t0", 2); // must catch up 1000 revisions
    var f = WatchHub.class.getDeclaredField("syncThread");
    f.setAccessible(true);
    Thread sync = (Thread) f.get(hub);
    var mx = java.lang.management.ManagementFactory.getThreadMXBean();
    Inbox.sleep(300);
    long cpu0 = mx.getThreadCpuTime(sync.getId());
    Inbox.sleep(1000);
    long cpuMillis = (mx.getThreadCpuTime(sync.getId()) - cpu0) / 1_000_000;
    // the client reads again: everything arrives
    in.awaitEvents(w.id(), 64_000);
    assertTrue(cpuMillis < 300, "the watch-sync thread burned " + cpuMillis
        + " ms of CPU in 1 s retrying a catch-up that cannot be queued until the client reads");
  }
}
