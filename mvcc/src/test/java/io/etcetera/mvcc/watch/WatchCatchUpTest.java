package io.etcetera.mvcc.watch;

import static io.etcetera.mvcc.watch.Inbox.evs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.mvccpb.Event;
import io.etcetera.mvcc.testutil.ApplyFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Watchers that start in the past: catch-up from the stored history, then live, and compaction. */
class WatchCatchUpTest {
  @TempDir
  Path dir;
  ApplyFixture fx;
  WatchHub hub;
  /** What each revision wrote, as {@link Inbox#ev} strings (puts of "k" + (i % keys)). */
  final List<String> written = new ArrayList<>();
  final Map<String, long[]> model = new HashMap<>(); // key -> {create, version}

  @BeforeEach
  void open() {
    fx = ApplyFixture.open(dir); // revision 1
    hub = fx.hub();
    written.add(null); // revision 0
    written.add(null); // revision 1
  }

  @AfterEach
  void close() {
    fx.close();
  }

  /** Puts {@code key=value} and records its expected event. */
  private void put(String key, String value) {
    long rev = fx.put(key, value).getHeader().getRevision();
    long[] cv = model.get(key);
    if (cv == null) {
      cv = new long[] {rev, 0};
      model.put(key, cv);
    }
    cv[1]++;
    assertEquals(written.size(), rev);
    written.add("PUT " + key + "=" + value + " c" + cv[0] + " m" + rev + " v" + cv[1]);
  }

  private void delete(String key) {
    fx.delete(key);
    long rev = fx.revision();
    model.remove(key);
    assertEquals(written.size(), rev);
    written.add("DELETE " + key + " m" + rev);
  }

  private void writeMany(int n) {
    for (int i = 0; i < n; i++) {
      int r = written.size();
      if (r % 7 == 3 && model.containsKey("k" + (r % 5))) {
        delete("k" + (r % 5));
      } else {
        put("k" + (r % 5), "v" + r);
      }
    }
  }

  /** The expected events of every key from revision {@code from} on. */
  private List<String> expectedFrom(long from) {
    return new ArrayList<>(written.subList((int) from, written.size()));
  }

  /** Checks the shape of what one watcher received: whole revisions, increasing, header not behind. */
  static void assertWellFormed(List<Outbound> received, long id) {
    long lastRev = 0;
    for (Outbound o : received) {
      if (o instanceof Outbound.Events e && e.watcher().id() == id) {
        assertTrue(!e.events().isEmpty());
        long first = e.events().get(0).getKv().getModRevision();
        assertTrue(first > lastRev, () -> "revision " + first + " split or repeated after " + lastRevOf(received, id));
        for (Event ev : e.events()) {
          assertTrue(ev.getKv().getModRevision() >= lastRev);
          lastRev = ev.getKv().getModRevision();
        }
        assertTrue(e.revision() >= lastRev, "the header revision is not behind the events");
      }
    }
  }

  private static String lastRevOf(List<Outbound> r, long id) {
    return Inbox.describe(r).toString();
  }

  @Test
  void aPastStartRevisionCatchesUpFromHistoryThenGoesLive() {
    writeMany(30); // 2..31
    Inbox in = new Inbox(hub);
    Watcher w = in.watch("\0", "\0", 10);
    in.awaitEvents(w.id(), 22);
    assertEquals(new Outbound.Created(0, 31, false, ""), in.received.get(0));
    Inbox.awaitTrue("the watcher is synced", () -> hub.groupSizes()[1] == 0);
    writeMany(3); // 32..34: live
    in.drain();
    Inbox.assertSameList(expectedFrom(10), evs(in.events(w.id())));
    assertWellFormed(in.received, w.id());
  }

  @Test
  void aPastStartRevisionOfAKeyGetsOnlyThatKey() {
    writeMany(40);
    Inbox in = new Inbox(hub);
    Watcher w = in.watch("k3", "", 2);
    List<String> want = expectedFrom(2).stream().filter(s -> s.contains(" k3")).toList();
    in.awaitEvents(w.id(), want.size());
    Inbox.assertSameList(want, evs(in.events(w.id())));
  }

  @Test
  void theLiveBoundaryHasNoGapAndNoDuplicateWhileWritesRaceTheCatchUp() {
    writeMany(3500); // more than three catch-up batches of 1000 revisions
    Inbox in = new Inbox(hub);
    Inbox prefix = new Inbox(hub);
    Watcher all = in.watch("\0", "\0", 2);
    Watcher k1 = prefix.watch("k1", "k2", 1500);
    // keep writing (the apply thread) while the sync thread catches up; the client reads as it goes
    for (int i = 0; i < 3000; i++) {
      writeMany(1);
      if (i % 10 == 0) {
        in.drain();
        prefix.drain();
      }
    }
    int total = written.size() - 2;
    in.awaitEvents(all.id(), total);
    List<String> wantK1 = expectedFrom(1500).stream().filter(s -> s.contains(" k1")).toList();
    prefix.awaitEvents(k1.id(), wantK1.size());
    Inbox.awaitTrue("both synced", () -> hub.groupSizes()[1] == 0);
    writeMany(5);
    in.drain();
    prefix.drain();
    Inbox.assertSameList(expectedFrom(2), evs(in.events(all.id())));
    Inbox.assertSameList(expectedFrom(1500).stream().filter(s -> s.contains(" k1")).toList(), evs(prefix.events(k1.id())));
    assertWellFormed(in.received, all.id());
    assertWellFormed(prefix.received, k1.id());
  }

  @Test
  void aStartAtTheCurrentRevisionGetsThatRevisionThenLive() {
    writeMany(5); // 2..6
    Inbox in = new Inbox(hub);
    Watcher w = in.watch("\0", "\0", 6);
    in.awaitEvents(w.id(), 1);
    writeMany(1);
    in.drain();
    Inbox.assertSameList(expectedFrom(6), evs(in.events(w.id())));
  }

  @Test
  void aStartAtACompactedRevisionIsCanceledWithTheCompactRevision() {
    writeMany(20); // 2..21
    fx.compact(10);
    Inbox in = new Inbox(hub);
    Watcher w = in.watch("\0", "\0", 5);
    Watcher at = in.watch("\0", "\0", 11);
    in.await("the compacted cancel", r -> !in.ofType(Outbound.Canceled.class).isEmpty());
    in.awaitEvents(at.id(), 11);
    assertEquals(List.of(new Outbound.Canceled(w.id(), 0, 10, "")), in.ofType(Outbound.Canceled.class));
    assertEquals(List.of(), in.events(w.id()));
    Inbox.assertSameList(expectedFrom(11), evs(in.events(at.id())));
    Inbox.awaitTrue("groups settled", () -> hub.groupSizes()[1] == 0 && hub.groupSizes()[0] == 1);
    // the compacted watcher is gone from the stream: its id is free, a cancel finds nothing
    writeMany(1);
    hub.cancel(in.stream, w.id());
    List<Outbound> after = in.drain();
    assertEquals(1, after.size(), () -> Inbox.describe(after).toString());
    assertEquals(at.id(), Inbox.idOf(after.get(0)));
  }

  @Test
  void aStartAtExactlyTheCompactRevisionIsServed() {
    for (int i = 0; i < 10; i++) {
      put("p" + i, "x"); // puts only: every row at the compact revision survives
    }
    fx.compact(6);
    Inbox in = new Inbox(hub);
    Watcher w = in.watch("\0", "\0", 6);
    in.awaitEvents(w.id(), 6);
    Inbox.awaitTrue("synced", () -> hub.groupSizes()[1] == 0);
    in.drain();
    Inbox.assertSameList(expectedFrom(6), evs(in.events(w.id())));
    assertTrue(in.ofType(Outbound.Canceled.class).isEmpty());
  }

  @Test
  void aCaughtUpWatcherIsNotDisturbedByALaterCompaction() {
    writeMany(10);
    Inbox in = new Inbox(hub);
    Watcher past = in.watch("\0", "\0", 3);
    Watcher live = in.watch("\0", "\0", 0);
    in.awaitEvents(past.id(), 9);
    Inbox.awaitTrue("synced", () -> hub.groupSizes()[1] == 0);
    writeMany(5);
    fx.compact(fx.revision());
    writeMany(5);
    Inbox.sleep(150); // a sync round, had anything been unsynced
    in.drain();
    assertTrue(in.ofType(Outbound.Canceled.class).isEmpty());
    Inbox.assertSameList(expectedFrom(3), evs(in.events(past.id())));
    Inbox.assertSameList(expectedFrom(12), evs(in.events(live.id())));
  }

  @Test
  void aCompactionWhileCatchingUpCancelsOnlyTheWatchersItOvertook() {
    writeMany(3000);
    Inbox slow = new Inbox(hub); // never read until the compaction is done: its watcher stays behind
    Watcher behind = slow.watch("\0", "\0", 2);
    Inbox fast = new Inbox(hub);
    Watcher ahead = fast.watch("\0", "\0", 2900);
    fast.awaitEvents(ahead.id(), 101);
    Inbox.awaitTrue("both caught up", () -> hub.groupSizes()[1] == 0);
    // fill the slow stream past its bound: its watcher falls behind (a victim)
    while (hub.groupSizes()[1] == 0) {
      writeMany(1);
      fast.drain();
    }
    writeMany(10);
    long compactAt = fx.revision() - 5;
    fx.compact(compactAt);
    slow.await("the compacted cancel", r -> !slow.ofType(Outbound.Canceled.class).isEmpty());
    Outbound.Canceled c = slow.ofType(Outbound.Canceled.class).get(0);
    assertEquals(new Outbound.Canceled(behind.id(), 0, compactAt, ""), c);
    // what it did get is an exact prefix of the history, and nothing follows the cancel
    List<String> got = evs(slow.events(behind.id()));
    Inbox.assertSameList(expectedFrom(2).subList(0, got.size()), got);
    writeMany(2);
    slow.drain();
    assertEquals(c, slow.received.get(slow.received.size() - 1));
    fast.drain();
    Inbox.assertSameList(expectedFrom(2900), evs(fast.events(ahead.id())));
  }
}
