package io.etcetera.mvcc.watch;

import static io.etcetera.mvcc.watch.Inbox.PLAIN;
import static io.etcetera.mvcc.watch.Inbox.bs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.etcetera.mvcc.testutil.ApplyFixture;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WatchCreateTest {
  @TempDir
  Path dir;
  ApplyFixture fx;
  WatchHub hub;

  @BeforeEach
  void open() {
    fx = ApplyFixture.open(dir);
    hub = fx.hub();
    fx.put("a", "1"); // 2
    fx.put("b", "1"); // 3
  }

  @AfterEach
  void close() {
    fx.close();
  }

  @Test
  void createdResponseComesFirstWithTheCurrentRevision() {
    Inbox in = new Inbox(hub);
    Watcher w = in.watch("a", "", 0);
    assertEquals(new Outbound.Created(0, 3, false, ""), in.expectOnly(Outbound.Created.class));
    assertEquals(0, w.id());
    fx.put("a", "2"); // 4
    List<Outbound> got = in.drain();
    assertEquals(1, got.size());
    assertEquals(List.of("PUT a=2 c2 m4 v2"), Inbox.evs(((Outbound.Events) got.get(0)).events()));
  }

  @Test
  void createdPrecedesCatchUpEvents() {
    Inbox in = new Inbox(hub);
    in.watch("a", "", 2);
    in.awaitEvents(0, 1);
    assertEquals(new Outbound.Created(0, 3, false, ""), in.received.get(0));
    assertEquals(List.of("PUT a=1 c2 m2 v1"), Inbox.evs(in.events(0)));
  }

  @Test
  void autoIdsStartAtZeroAndIncreasePerStream() {
    Inbox s1 = new Inbox(hub);
    Inbox s2 = new Inbox(hub);
    assertEquals(0, s1.watch("a", "", 0).id());
    assertEquals(1, s1.watch("a", "", 0).id());
    assertEquals(2, s1.watch("b", "", 0).id());
    assertEquals(0, s2.watch("a", "", 0).id());
    assertEquals(List.of(0L, 1L, 2L), s1.drain().stream().map(Inbox::idOf).toList());
    assertEquals(List.of(0L), s2.drain().stream().map(Inbox::idOf).toList());
  }

  @Test
  void autoIdsSkipIdsTheClientChose() {
    Inbox in = new Inbox(hub);
    assertEquals(1, in.watch(1, "a", "", 0, PLAIN).id());
    assertEquals(0, in.watch(0, "a", "", 0, PLAIN).id());
    assertEquals(2, in.watch(0, "a", "", 0, PLAIN).id()); // 1 is taken
    assertEquals(7, in.watch(7, "a", "", 0, PLAIN).id());
    assertEquals(3, in.watch(0, "a", "", 0, PLAIN).id());
    assertEquals(List.of(1L, 0L, 2L, 7L, 3L), in.drain().stream().map(Inbox::idOf).toList());
  }

  @Test
  void aClientChosenIdIsUsedForItsEvents() {
    Inbox in = new Inbox(hub);
    in.watch(42, "b", "", 0, PLAIN);
    assertEquals(new Outbound.Created(42, 3, false, ""), in.expectOnly(Outbound.Created.class));
    fx.put("b", "2");
    Outbound.Events e = in.expectOnly(Outbound.Events.class);
    assertEquals(42, e.watcher().id());
  }

  @Test
  void aDuplicateIdIsRefusedAndTheFirstWatcherKeepsWorking() {
    Inbox in = new Inbox(hub);
    in.watch(5, "a", "", 0, PLAIN);
    in.drain();
    WatchException e = assertThrows(WatchException.class, () -> in.watch(5, "b", "", 0, PLAIN));
    assertEquals(WatchException.DUPLICATE_ID, e.getMessage());
    in.expectNothing(); // nothing queued by the refused create itself
    hub.refuse(in.stream, e.getMessage()); // what the server answers
    assertEquals(new Outbound.Created(-1, 3, true, WatchException.DUPLICATE_ID), in.expectOnly(Outbound.Created.class));
    fx.put("b", "2");
    in.expectNothing(); // the refused watcher on b does not exist
    fx.put("a", "2");
    assertEquals(5, in.expectOnly(Outbound.Events.class).watcher().id());
    // an auto id may still take the next free id
    assertEquals(0, in.watch(0, "a", "", 0, PLAIN).id());
  }

  @Test
  void anIdIsFreeAgainAfterCancel() {
    Inbox in = new Inbox(hub);
    in.watch(5, "a", "", 0, PLAIN);
    hub.cancel(in.stream, 5);
    assertEquals(5, in.watch(5, "a", "", 0, PLAIN).id());
  }

  @Test
  void keyNotBelowRangeEndIsAnEmptyRange() {
    Inbox in = new Inbox(hub);
    for (String[] r : new String[][] {{"b", "a"}, {"a", "a"}, {"ab", "a"}, {"\u00e9", "z"}}) {
      WatchException e = assertThrows(WatchException.class,
          () -> hub.watch(in.stream, 0, bs(r[0]), bs(r[1]), 0, PLAIN), () -> r[0] + ".." + r[1]);
      assertEquals(WatchException.EMPTY_RANGE, e.getMessage());
    }
    in.expectNothing();
    assertEquals(List.of(0, 0), List.of(hub.groupSizes()[0], hub.groupSizes()[1]));
    // these are not empty: a range end "\0" means from the key on, unsigned byte order is used
    hub.watch(in.stream, 0, bs("z"), bs("\0"), 0, PLAIN);
    hub.watch(in.stream, 0, bs("z"), bs("\u00e9"), 0, PLAIN);
    hub.watch(in.stream, 0, bs(""), bs("a"), 0, PLAIN);
    assertEquals(3, hub.groupSizes()[0]);
  }

  @Test
  void anEmptyKeyIsTheSmallestKey() {
    Inbox in = new Inbox(hub);
    Watcher w = hub.watch(in.stream, 0, bs(""), bs(""), 0, PLAIN);
    assertEquals(bs("\0"), w.key);
    in.drain();
    fx.put("\0", "x");
    assertEquals(List.of("PUT \0=x c4 m4 v1"), Inbox.evs(in.expectOnly(Outbound.Events.class).events()));
  }
}
