package io.etcetera.mvcc.watch;

import static io.etcetera.mvcc.testutil.ApplyFixture.deleteReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.putReq;
import static io.etcetera.mvcc.testutil.Req.op;
import static io.etcetera.mvcc.testutil.Req.put;
import static io.etcetera.mvcc.testutil.Req.txn;
import static io.etcetera.mvcc.watch.Inbox.NO_DELETE;
import static io.etcetera.mvcc.watch.Inbox.NO_PUT;
import static io.etcetera.mvcc.watch.Inbox.PLAIN;
import static io.etcetera.mvcc.watch.Inbox.evs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.mvccpb.Event;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.testutil.ApplyFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Live events of synced watchers: what reaches whom, in which form and order. */
class WatchEventsTest {
  @TempDir
  Path dir;
  ApplyFixture fx;
  WatchHub hub;
  Inbox in;

  @BeforeEach
  void open() {
    fx = ApplyFixture.open(dir); // revision 1
    hub = fx.hub();
    in = new Inbox(hub);
  }

  @AfterEach
  void close() {
    fx.close();
  }

  /** Writes one put per batch for each key, value "v". */
  private void putAll(String... keys) {
    for (String k : keys) {
      fx.put(k, "v");
    }
  }

  private List<String> eventKeys(long id) {
    return in.events(id).stream().map(e -> Req.str(e.getKv().getKey())).toList();
  }

  @Test
  void aSingleKeyWatcherSeesOnlyThatKey() {
    long id = in.watch("a", "", 0).id();
    putAll("a", "b", "ab", "\0a", "a", "A");
    fx.delete("a");
    fx.delete("ab");
    in.drain();
    assertEquals(List.of("PUT a=v c2 m2 v1", "PUT a=v c2 m6 v2", "DELETE a m8"), evs(in.events(id)));
  }

  @Test
  void aPrefixWatcherSeesTheKeysWithThePrefix() {
    long id = in.watch("p/", Req.prefixEnd("p/"), 0).id();
    putAll("p", "p/", "p/1", "p/2/x", "p0", "p.", "q", "p/\u00ff", "o/");
    fx.deleteRange("p", "q");
    in.drain();
    assertEquals(List.of("p/", "p/1", "p/2/x", "p/\u00ff", "p/", "p/1", "p/2/x", "p/\u00ff"), eventKeys(id));
  }

  @Test
  void aFromKeyWatcherSeesEveryKeyFromItsKeyOn() {
    long id = in.watch("m", "\0", 0).id();
    putAll("a", "l\u00ff", "m", "m\0", "zz", "\u00ff\u00ff", "\0");
    in.drain();
    assertEquals(List.of("m", "m\0", "zz", "\u00ff\u00ff"), eventKeys(id));
  }

  @Test
  void anAllKeysWatcherSeesEveryKey() {
    long all = in.watch("\0", "\0", 0).id();
    long allFromEmpty = in.watch("", "\0", 0).id();
    putAll("\0", "a", "\u00ff");
    fx.deleteRange("\0", "\0");
    in.drain();
    List<String> want = List.of("\0", "a", "\u00ff", "\0", "a", "\u00ff");
    assertEquals(want, eventKeys(all));
    assertEquals(want, eventKeys(allFromEmpty));
  }

  @Test
  void aPutCarriesTheWholeKeyValueAndADeleteItsKeyAndRevision() {
    long id = in.watch("k", "", 0).id();
    fx.put("k", "one"); // 2
    fx.put("k", "two"); // 3
    fx.delete("k"); // 4
    fx.put("k", "three"); // 5
    in.drain();
    List<Event> es = in.events(id);
    assertEquals(4, es.size());
    assertEquals(Event.EventType.PUT, es.get(1).getType());
    assertEquals(Req.kv("k", "two", 2, 3, 2), es.get(1).getKv());
    assertEquals(Event.EventType.DELETE, es.get(2).getType());
    assertEquals(KeyValue.newBuilder().setKey(Req.bs("k")).setModRevision(4).build(), es.get(2).getKv());
    assertEquals(Req.kv("k", "three", 5, 5, 1), es.get(3).getKv());
    for (Event e : es) {
      assertTrue(!e.hasPrevKv(), "the hub never sets prev_kv (the sender does)");
    }
  }

  @Test
  void eachEventsResponseNamesTheRevisionItBringsTheWatcherTo() {
    in.watch("a", "", 0);
    in.drain();
    fx.put("a", "1"); // 2
    fx.put("b", "1"); // 3: not for the watcher
    fx.put("a", "2"); // 4
    List<Outbound> got = in.drain();
    assertEquals(2, got.size());
    assertEquals(2, ((Outbound.Events) got.get(0)).revision());
    assertEquals(4, ((Outbound.Events) got.get(1)).revision());
  }

  @Test
  void aTxnsEventsArriveTogetherInSubRevisionOrder() {
    fx.put("b", "0"); // 2
    fx.put("z", "0"); // 3
    long id = in.watch("\0", "\0", 0).id();
    in.drain();
    fx.txn(txn()
        .addSuccess(op(put("c", "1")))
        .addSuccess(op(Req.delete("z")))
        .addSuccess(op(put("a", "1")))
        .addSuccess(op(put("b", "1")))
        .build()); // 4
    List<Outbound> got = in.drain();
    assertEquals(1, got.size(), () -> Inbox.describe(got).toString());
    assertEquals(List.of("PUT c=1 c4 m4 v1", "DELETE z m4", "PUT a=1 c4 m4 v1", "PUT b=1 c2 m4 v2"),
        evs(((Outbound.Events) got.get(0)).events()));
    assertEquals(id, ((Outbound.Events) got.get(0)).watcher().id());
  }

  @Test
  void aRangeDeleteDeletesInKeyOrderInOneRevision() {
    putAll("c", "a", "\u00e9", "b"); // 2..5
    long id = in.watch("\0", "\0", 0).id();
    in.drain();
    fx.deleteRange("\0", "\0"); // 6
    Outbound.Events e = in.expectOnly(Outbound.Events.class);
    assertEquals(List.of("DELETE a m6", "DELETE b m6", "DELETE c m6", "DELETE \u00e9 m6"), evs(e.events()));
    assertEquals(id, e.watcher().id());
  }

  @Test
  void aGroupCommitKeepsEachRevisionWholeAndInOrder() {
    long id = in.watch("\0", "\0", 0).id();
    long a = in.watch("a", "", 0).id();
    in.drain();
    fx.applyGroup(List.of(
        putReq("a", "1"), // 2
        Req.raft(txn().addSuccess(op(put("b", "1"))).addSuccess(op(put("a", "2"))).build()), // 3
        putReq("c", "1"), // 4
        deleteReq("a"))); // 5
    in.drain();
    assertEquals(List.of("PUT a=1 c2 m2 v1", "PUT b=1 c3 m3 v1", "PUT a=2 c2 m3 v2", "PUT c=1 c4 m4 v1", "DELETE a m5"),
        evs(in.events(id)));
    assertEquals(List.of("PUT a=1 c2 m2 v1", "PUT a=2 c2 m3 v2", "DELETE a m5"), evs(in.events(a)));
    for (Outbound.Events e : in.ofType(Outbound.Events.class)) {
      assertEquals(5, e.revision());
    }
  }

  @Test
  void failedRequestsOfAGroupProduceNoEvents() {
    long id = in.watch("\0", "\0", 0).id();
    in.drain();
    fx.applyGroup(List.of(
        putReq("a", "1"), // 2
        putReq("b", "1", 999), // lease not found: no revision
        Req.raft(Req.putBuilder("zz").setIgnoreValue(true).build()), // key not found
        deleteReq("nothing"), // deletes nothing: no revision
        putReq("c", "1"))); // 3
    in.drain();
    assertEquals(List.of("PUT a=1 c2 m2 v1", "PUT c=1 c3 m3 v1"), evs(in.events(id)));
    assertEquals(3, fx.revision());
  }

  @Test
  void noPutAndNoDeleteFiltersDropThoseEvents() {
    long noPut = in.watch(0, "k", "", 0, NO_PUT).id();
    long noDelete = in.watch(0, "k", "", 0, NO_DELETE).id();
    fx.put("k", "1"); // 2
    fx.delete("k"); // 3
    fx.put("k", "2"); // 4
    fx.txn(txn().addSuccess(op(Req.delete("k"))).build()); // 5
    in.drain();
    assertEquals(List.of("DELETE k m3", "DELETE k m5"), evs(in.events(noPut)));
    assertEquals(List.of("PUT k=1 c2 m2 v1", "PUT k=2 c4 m4 v1"), evs(in.events(noDelete)));
    // a revision with nothing left after filtering sends nothing
    for (Outbound.Events e : in.ofType(Outbound.Events.class)) {
      assertTrue(!e.events().isEmpty());
    }
  }

  @Test
  void aFutureStartRevisionSendsNothingBeforeIt() {
    Watcher w = in.watch("\0", "\0", 5);
    assertEquals(new Outbound.Created(0, 1, false, ""), in.expectOnly(Outbound.Created.class));
    fx.put("a", "1"); // 2
    fx.put("a", "2"); // 3
    fx.put("a", "3"); // 4
    in.expectNothing();
    fx.applyGroup(List.of(putReq("a", "4"), putReq("b", "1"))); // 5, 6
    in.drain();
    assertEquals(List.of("PUT a=4 c2 m5 v4", "PUT b=1 c6 m6 v1"), evs(in.events(w.id())));
    assertEquals(List.of(1, 0), List.of(hub.groupSizes()[0], hub.groupSizes()[1]));
  }

  @Test
  void cancelQueuesCanceledAfterTheEventsAlreadyQueuedAndNothingAfterIt() {
    long id = in.watch("a", "", 0).id();
    long other = in.watch("a", "", 0).id();
    fx.put("a", "1"); // 2
    hub.cancel(in.stream, id);
    fx.put("a", "2"); // 3
    in.drain();
    // per watcher (the order between watchers of one batch is not defined)
    assertEquals(List.of(
        "Created[watchId=0, revision=1, canceled=false, cancelReason=]",
        "Events(0 @2 [PUT a=1 c2 m2 v1])",
        "Canceled[watchId=0, revision=2, compactRevision=0, cancelReason=]"), Inbox.describe(in.of(id)));
    assertEquals(List.of(
        "Created[watchId=1, revision=1, canceled=false, cancelReason=]",
        "Events(1 @2 [PUT a=1 c2 m2 v1])",
        "Events(1 @3 [PUT a=2 c2 m3 v2])"), Inbox.describe(in.of(other)));
    assertEquals(1, other);
    assertEquals(1, hub.groupSizes()[0]);
  }

  @Test
  void cancelOfAnUnknownIdQueuesNothing() {
    in.watch("a", "", 0);
    in.drain();
    hub.cancel(in.stream, 3);
    hub.cancel(in.stream, -1);
    in.expectNothing();
  }

  @Test
  void cancelOfAWatcherStillCatchingUpStopsIt() {
    for (int i = 0; i < 50; i++) {
      fx.put("a", "v" + i);
    }
    Inbox slow = new Inbox(hub);
    Watcher w = slow.watch("a", "", 1); // catching up
    hub.cancel(slow.stream, w.id());
    Inbox.sleep(200); // let the sync thread run
    fx.put("a", "last");
    List<Outbound> got = slow.drain();
    // at most the catch-up that raced the cancel, then Canceled, then nothing
    Outbound last = got.get(got.size() - 1);
    assertEquals(Outbound.Canceled.class, last.getClass(), () -> Inbox.describe(got).toString());
    assertEquals(List.of(0, 0), List.of(hub.groupSizes()[0], hub.groupSizes()[1]));
  }

  @Test
  void closingAStreamStopsAllItsWatchersAndDropsItsQueue() {
    Inbox other = new Inbox(hub);
    long otherId = other.watch("a", "", 0).id();
    in.watch("a", "", 0);
    in.watch("\0", "\0", 0);
    in.watch(0, "a", "", 0, Inbox.PROGRESS);
    fx.put("a", "1"); // 2: queued, never read
    hub.requestProgress(in.stream);
    hub.close(in.stream);
    assertNull(in.stream.poll());
    assertEquals(0, in.stream.queuedBytes());
    assertEquals(1, hub.groupSizes()[0]);
    fx.put("a", "2");
    hub.progressTick();
    hub.requestProgress(in.stream);
    hub.cancel(in.stream, 0);
    assertNull(in.stream.poll());
    assertTrue(in.stream.isEmpty());
    other.drain();
    assertEquals(2, other.events(otherId).size());
  }

  @Test
  void aStreamIsWokenForWhatItQueues() {
    in.watch("a", "", 0);
    int before = in.wakeups.get();
    assertTrue(before >= 1);
    fx.put("a", "1");
    assertTrue(in.wakeups.get() > before);
    int quiet = in.wakeups.get();
    fx.put("b", "1");
    assertEquals(quiet, in.wakeups.get(), "no wakeup for a write nobody on the stream watches");
  }

  @Test
  void watchersOfTheSameKeyOnDifferentStreamsEachGetTheEvents() {
    Inbox s2 = new Inbox(hub);
    long a = in.watch("k", "", 0).id();
    long b = s2.watch("k", "", 0).id();
    fx.put("k", "1");
    in.drain();
    s2.drain();
    assertEquals(evs(in.events(a)), evs(s2.events(b)));
    assertArrayEquals(new int[] {2, 0}, hub.groupSizes());
  }
}
