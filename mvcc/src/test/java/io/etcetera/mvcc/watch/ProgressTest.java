package io.etcetera.mvcc.watch;

import static io.etcetera.mvcc.watch.Inbox.PLAIN;
import static io.etcetera.mvcc.watch.Inbox.PROGRESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.mvcc.testutil.ApplyFixture;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RequestProgress as etcd 3.5.13 (answered at watch ID -1 only once every watcher of the stream is
 * synced and has reached its start revision; deferred otherwise) and progress_notify ticks.
 */
class ProgressTest {
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

  private static Set<Outbound> set(List<Outbound> l) {
    return new HashSet<>(l);
  }

  // ---- RequestProgress

  @Test
  void requestProgressIsAnsweredAtTheCurrentRevisionWhenEveryWatcherIsSynced() {
    in.watch("a", "", 0);
    in.watch("b", "c", 0);
    fx.put("a", "1"); // 2
    fx.put("x", "1"); // 3
    in.drain();
    hub.requestProgress(in.stream);
    assertEquals(new Outbound.Progress(-1, 3), in.expectOnly(Outbound.Progress.class));
    hub.requestProgress(in.stream);
    assertEquals(new Outbound.Progress(-1, 3), in.expectOnly(Outbound.Progress.class));
  }

  @Test
  void requestProgressOfAFreshWatcherWaitsForTheNextRevision() {
    // etcd 3.5.13's progressIfSync: no answer while the store revision is below a watcher's start revision
    in.watch("a", "", 0); // starts at 2
    in.drain();
    hub.requestProgress(in.stream);
    in.expectNothing();
    fx.put("other", "1"); // 2
    assertEquals(new Outbound.Progress(-1, 2), in.expectOnly(Outbound.Progress.class));
    fx.put("other", "2");
    in.expectNothing(); // answered once
  }

  @Test
  void requestProgressWaitsForAFutureStartRevisionAndFollowsItsEvents() {
    Watcher w = in.watch("a", "", 4);
    in.drain();
    hub.requestProgress(in.stream);
    fx.put("a", "1"); // 2
    fx.put("a", "2"); // 3
    in.expectNothing();
    fx.put("a", "3"); // 4
    List<Outbound> got = in.drain();
    assertEquals(List.of("Events(" + w.id() + " @4 [PUT a=3 c2 m4 v3])", "Progress[watchId=-1, revision=4]"),
        Inbox.describe(got));
  }

  @Test
  void requestProgressOnAStreamWithoutWatchersIsNotAnswered() {
    hub.requestProgress(in.stream);
    in.expectNothing();
    fx.put("a", "1");
    in.watch("a", "", 0);
    fx.put("a", "2");
    fx.put("b", "2");
    List<Outbound> got = in.drain();
    assertTrue(got.stream().noneMatch(o -> o instanceof Outbound.Progress), () -> Inbox.describe(got).toString());
  }

  @Test
  void requestProgressIsDeferredWhileAWatcherCatchesUpAndAnsweredAfterItsEvents() {
    Watcher idle = in.watch("idle", "", 0);
    Watcher all = in.watch("\0", "\0", 0);
    int n = 0;
    while (all.synced) { // the client does not read: the watcher falls behind
      fx.put("k" + (n % 10), "v" + n);
      n++;
    }
    for (int i = 0; i < 20; i++, n++) {
      fx.put("k" + (n % 10), "v" + n);
    }
    assertTrue(idle.synced);
    hub.requestProgress(in.stream);
    hub.requestProgress(in.stream); // a second request while one is deferred: still one answer
    long rev = fx.revision();
    int total = n;
    in.await("the progress", r -> !in.ofType(Outbound.Progress.class).isEmpty());
    Inbox.awaitTrue("synced", () -> hub.groupSizes()[1] == 0);
    in.drain();
    assertEquals(List.of(new Outbound.Progress(-1, rev)), in.ofType(Outbound.Progress.class));
    assertEquals(total, in.events(all.id()).size());
    int progressAt = in.received.indexOf(new Outbound.Progress(-1, rev));
    for (int i = progressAt + 1; i < in.received.size(); i++) {
      assertTrue(!(in.received.get(i) instanceof Outbound.Events), "an event after the progress at " + rev);
    }
    assertEquals(0, idle.id());
  }

  @Test
  void requestProgressIsDeferredWhileAPastStartWatcherCatchesUp() {
    for (int i = 0; i < 3000; i++) {
      fx.put("k" + (i % 7), "v" + i);
    }
    Watcher synced = in.watch("zzz", "", 0);
    fx.put("zzz", "1");
    Watcher past = in.watch("\0", "\0", 2);
    hub.requestProgress(in.stream);
    long rev = fx.revision();
    in.await("the progress", r -> !in.ofType(Outbound.Progress.class).isEmpty());
    assertEquals(List.of(new Outbound.Progress(-1, rev)), in.ofType(Outbound.Progress.class));
    // by then every event up to rev was queued before it
    int progressAt = in.received.indexOf(new Outbound.Progress(-1, rev));
    assertEquals(3001, Inbox.events(in.received.subList(0, progressAt), past.id()).size());
    assertEquals(1, Inbox.events(in.received.subList(0, progressAt), synced.id()).size());
  }

  @Test
  void aDeferredProgressIsDroppedWithItsStream() {
    Watcher w = in.watch("a", "", 0);
    hub.requestProgress(in.stream);
    hub.close(in.stream);
    fx.put("a", "1");
    assertEquals(null, in.stream.poll());
    assertTrue(w.canceled);
  }

  // ---- progress_notify ticks

  @Test
  void aTickNotifiesEachIdleSyncedWatcherThatAskedForIt() {
    Watcher a = in.watch(0, "a", "", 0, PROGRESS);
    Watcher b = in.watch(0, "a", "", 0, PLAIN);
    Watcher c = in.watch(0, "c", "", 0, PROGRESS);
    fx.put("z", "1"); // 2: the watchers' start revision is reached
    in.drain();
    hub.progressTick();
    assertEquals(Set.of(new Outbound.Progress(a.id(), 2), new Outbound.Progress(c.id(), 2)), set(in.drain()));

    fx.put("a", "1"); // 3: a got an event since the last tick
    in.drain();
    hub.progressTick();
    assertEquals(Set.of(new Outbound.Progress(c.id(), 3)), set(in.drain()));
    hub.progressTick(); // nothing since: a too
    assertEquals(Set.of(new Outbound.Progress(a.id(), 3), new Outbound.Progress(c.id(), 3)), set(in.drain()));
    assertEquals(1, b.id());
  }

  @Test
  void aTickSkipsAWatcherThatHasNotReachedItsStartRevision() {
    in.watch(0, "a", "", 0, PROGRESS); // start 2
    in.watch(0, "a", "", 9, PROGRESS);
    in.drain();
    hub.progressTick();
    in.expectNothing();
    fx.put("z", "1"); // 2
    hub.progressTick();
    assertEquals(List.of(new Outbound.Progress(0, 2)), in.drain());
  }

  @Test
  void aTickSkipsAWatcherThatIsBehind() {
    Watcher behind = in.watch(0, "\0", "\0", 0, PROGRESS);
    int n = 0;
    while (behind.synced) {
      fx.put("k", "v" + n++);
    }
    hub.progressTick();
    List<Outbound> got = in.drain();
    assertTrue(got.stream().noneMatch(o -> o instanceof Outbound.Progress), "a progress for a watcher behind");
    // once caught up it is notified again
    in.awaitEvents(behind.id(), n);
    Inbox.awaitTrue("synced", () -> hub.groupSizes()[1] == 0);
    hub.progressTick(); // it got events since the last tick
    hub.progressTick();
    in.drain();
    assertEquals(List.of(new Outbound.Progress(behind.id(), fx.revision())), in.ofType(Outbound.Progress.class));
  }

  @Test
  void progressTicksDoNotPileUpOnAStreamThatIsNotRead() {
    // etcd drops a progress notification when the watch channel is full; here every tick adds one more
    // control response to a queue nobody reads, without bound
    in.watch(0, "quiet", "", 0, PROGRESS);
    fx.put("other", "1");
    for (int i = 0; i < 20_000; i++) {
      hub.progressTick();
    }
    List<Outbound> queued = in.drain();
    long progress = queued.stream().filter(o -> o instanceof Outbound.Progress).count();
    assertTrue(progress <= WatchStream.MAX_EVENT_ITEMS,
        "a stream that is not read holds " + progress + " progress notifications of one idle watcher");
  }
}
