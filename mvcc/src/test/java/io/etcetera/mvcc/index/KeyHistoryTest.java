package io.etcetera.mvcc.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.mvcc.Revision;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KeyHistoryTest {

  /**
   * Three generations, the middle one with two changes in one main revision:
   * {3.0, 5.0, 7.0(t)} {9.0, 9.1, 11.0(t)} {13.0, 15.0}.
   */
  private static KeyHistory threeGenerations() {
    return KeyHistory.firstPut(3, 0, 0)
        .put(5, 0, 0)
        .tombstone(7, 0)
        .put(9, 0, 0)
        .put(9, 1, 0)
        .tombstone(11, 0)
        .put(13, 0, 0)
        .put(15, 0, 0);
  }

  private static Revision rev(long main, long sub) {
    return new Revision(main, sub);
  }

  @Test
  void javadocExampleReadsAsEtcd() {
    KeyHistory h = KeyHistory.firstPut(1, 0, 0).put(2, 0, 0).tombstone(3, 0).put(4, 0, 0);
    assertEquals(rev(2, 0), h.liveAt(2));
    assertNull(h.liveAt(3));
    assertEquals(rev(4, 0), h.liveAt(4));
    assertEquals(rev(4, 0), h.liveAt(100));
    assertNull(h.liveAt(0));

    KeyHistory c2 = h.compact(2);
    assertEquals(rev(2, 0), h.keptAt(2));
    assertEquals("KeyHistory[2.0 3.0t 4.0]", c2.toString());

    KeyHistory c3 = h.compact(3);
    assertNull(h.keptAt(3));
    assertEquals("KeyHistory[4.0]", c3.toString());
  }

  @Test
  void liveAtEveryRevisionOfThreeGenerations() {
    KeyHistory h = threeGenerations();
    Revision[] expected = {
        null, null, null, // 0..2: not yet written
        rev(3, 0), rev(3, 0), // 3, 4
        rev(5, 0), rev(5, 0), // 5, 6
        null, null, // 7, 8: deleted
        rev(9, 1), rev(9, 1), // 9, 10: the newest sub of main 9
        null, null, // 11, 12
        rev(13, 0), rev(13, 0), // 13, 14
        rev(15, 0), rev(15, 0), rev(15, 0)}; // 15..17
    for (int at = 0; at < expected.length; at++) {
      assertEquals(expected[at], h.liveAt(at), "liveAt(" + at + ")");
      assertEquals(expected[at] != null, h.isLiveAt(at), "isLiveAt(" + at + ")");
    }
  }

  @Test
  void versionAndCreateFollowTheCurrentGeneration() {
    KeyHistory h = KeyHistory.firstPut(3, 0, 7);
    assertEquals(1, h.version());
    assertEquals(3, h.createMain());
    assertEquals(7, h.lease());
    h = h.put(5, 0, 0);
    assertEquals(2, h.version());
    assertEquals(3, h.createMain());
    assertEquals(0, h.lease());
    h = h.tombstone(7, 0);
    assertTrue(h.isDeleted());
    assertEquals(0, h.version());
    assertEquals(0, h.createMain());
    h = h.put(9, 0, 0);
    assertFalse(h.isDeleted());
    assertEquals(1, h.version());
    assertEquals(9, h.createMain());
    h = h.put(9, 1, 0);
    assertEquals(2, h.version());
    assertEquals(9, h.createMain());
  }

  @Test
  void tombstoneOfADeletedKeyIsRefused() {
    KeyHistory h = KeyHistory.firstPut(2, 0, 0).tombstone(3, 0);
    assertThrows(IllegalStateException.class, () -> h.tombstone(4, 0));
  }

  @Test
  void writesMustGoForwardInRevision() {
    KeyHistory h = KeyHistory.firstPut(5, 1, 0);
    assertThrows(IllegalStateException.class, () -> h.put(5, 1, 0));
    assertThrows(IllegalStateException.class, () -> h.put(5, 0, 0));
    assertThrows(IllegalStateException.class, () -> h.put(4, 9, 0));
    assertThrows(IllegalStateException.class, () -> h.tombstone(5, 0));
    h.put(5, 2, 0); // next sub of the same main is fine
  }

  @Test
  void olderViewsAreUnchangedByLaterAppends() {
    KeyHistory v1 = KeyHistory.firstPut(2, 0, 0);
    KeyHistory v2 = v1.put(3, 0, 0);
    KeyHistory v3 = v2.tombstone(4, 0);
    KeyHistory v4 = v3.put(5, 0, 0); // grows the backing arrays
    assertEquals(1, v1.size());
    assertEquals(rev(2, 0), v1.liveAt(10));
    assertEquals(rev(3, 0), v2.liveAt(10));
    assertNull(v3.liveAt(10));
    assertEquals(rev(5, 0), v4.liveAt(10));
    assertEquals(2, v2.version());
    assertTrue(v3.isDeleted());
  }

  @Test
  void compactBelowTheFirstRevisionKeepsTheSameHistory() {
    KeyHistory h = threeGenerations();
    assertSame(h, h.compact(2));
    assertNull(h.keptAt(2));
    // compacting exactly at the oldest live revision drops nothing either
    assertSame(h, h.compact(3));
    assertEquals(rev(3, 0), h.keptAt(3));
  }

  @Test
  void compactKeepsTheNewestLiveRevisionAtOrBelowAndEverythingAfter() {
    KeyHistory h = threeGenerations();
    assertEquals("KeyHistory[5.0 7.0t 9.0 9.1 11.0t 13.0 15.0]", h.compact(5).toString());
    assertEquals("KeyHistory[5.0 7.0t 9.0 9.1 11.0t 13.0 15.0]", h.compact(6).toString());
    assertEquals(rev(5, 0), h.keptAt(6));
    // at the tombstone or in the gap after it, the whole generation goes
    assertEquals("KeyHistory[9.0 9.1 11.0t 13.0 15.0]", h.compact(7).toString());
    assertEquals("KeyHistory[9.0 9.1 11.0t 13.0 15.0]", h.compact(8).toString());
    assertNull(h.keptAt(7));
    assertNull(h.keptAt(8));
    // two subs of one main: only the newest stays
    assertEquals("KeyHistory[9.1 11.0t 13.0 15.0]", h.compact(9).toString());
    assertEquals(rev(9, 1), h.keptAt(9));
    assertEquals("KeyHistory[13.0 15.0]", h.compact(12).toString());
    assertEquals("KeyHistory[15.0]", h.compact(15).toString());
    assertEquals("KeyHistory[15.0]", h.compact(99).toString());
    assertEquals(rev(15, 0), h.keptAt(99));
  }

  @Test
  void compactAtOrAfterTheLastTombstoneRemovesTheKey() {
    KeyHistory h = KeyHistory.firstPut(2, 0, 0).put(3, 0, 0).tombstone(4, 0);
    assertNull(h.compact(4));
    assertNull(h.compact(10));
    assertNull(h.keptAt(4));
    assertEquals("KeyHistory[3.0 4.0t]", h.compact(3).toString());
  }

  @Test
  void compactedHistoryKeepsVersionCreateAndLeaseAndAcceptsNewWrites() {
    KeyHistory h = KeyHistory.firstPut(2, 0, 0).put(3, 0, 0).put(4, 0, 9);
    KeyHistory c = h.compact(4);
    assertEquals(1, c.size());
    assertEquals(3, c.version());
    assertEquals(2, c.createMain());
    assertEquals(9, c.lease());
    KeyHistory next = c.put(5, 0, 0).put(6, 0, 0).put(7, 0, 0);
    assertEquals(6, next.version());
    assertEquals(rev(4, 0), next.liveAt(4));
    assertEquals(rev(7, 0), next.liveAt(7));
    // the uncompacted view is untouched by writes after the compaction
    assertEquals(rev(2, 0), h.liveAt(2));
    assertEquals(3, h.size());
  }

  @Test
  void compactIsIdempotent() {
    KeyHistory h = threeGenerations();
    for (long r = 0; r <= 16; r++) {
      KeyHistory once = h.compact(r);
      KeyHistory twice = once == null ? null : once.compact(r);
      assertEquals(String.valueOf(once), String.valueOf(twice), "compact(" + r + ") twice");
    }
  }

  // ---- property: KeyHistory against a plain list of (main, sub, tombstone)

  private record Entry(long main, long sub, boolean tomb) {}

  private static Entry modelFloor(List<Entry> es, long at) {
    Entry f = null;
    for (Entry e : es) {
      if (e.main <= at) {
        f = e;
      }
    }
    return f;
  }

  private static Revision modelLiveAt(List<Entry> es, long at) {
    Entry f = modelFloor(es, at);
    return f == null || f.tomb ? null : new Revision(f.main, f.sub);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
  void randomHistoriesAgreeWithAListModel(long seed) {
    Random rnd = new Random(seed);
    for (int round = 0; round < 200; round++) {
      List<Entry> model = new ArrayList<>();
      KeyHistory h = null;
      long main = 1 + rnd.nextInt(3);
      long sub = 0;
      long version = 0;
      long create = 0;
      int n = 1 + rnd.nextInt(25);
      for (int i = 0; i < n; i++) {
        boolean deleted = h == null || h.isDeleted();
        boolean tomb = !deleted && rnd.nextInt(4) == 0;
        if (tomb) {
          h = h.tombstone(main, sub);
          version = 0;
          create = 0;
        } else {
          h = h == null ? KeyHistory.firstPut(main, sub, 0) : h.put(main, sub, 0);
          if (deleted) {
            version = 1;
            create = main;
          } else {
            version++;
          }
        }
        model.add(new Entry(main, sub, tomb));
        assertEquals(version, h.version());
        assertEquals(create, h.createMain());
        if (rnd.nextInt(3) == 0) {
          sub++;
        } else {
          main += 1 + rnd.nextInt(3);
          sub = 0;
        }
      }
      long last = main + 2;
      for (long at = 0; at <= last; at++) {
        assertEquals(modelLiveAt(model, at), h.liveAt(at), "liveAt(" + at + ") of " + h);
      }
      // compaction: reads at or after the compact revision are unchanged
      long c = rnd.nextInt((int) last + 1);
      Revision kept = h.keptAt(c);
      assertEquals(modelLiveAt(model, c), kept, "keptAt(" + c + ") of " + h);
      KeyHistory ch = h.compact(c);
      long remaining = model.stream().filter(e -> e.main > c).count() + (kept == null ? 0 : 1);
      if (ch == null) {
        assertEquals(0, remaining, "compact(" + c + ") of " + h + " dropped a needed revision");
        for (long at = c; at <= last; at++) {
          assertNull(h.liveAt(at));
        }
        continue;
      }
      assertEquals(remaining, ch.size(), "compact(" + c + ") of " + h + " = " + ch);
      for (long at = c; at <= last; at++) {
        assertEquals(h.liveAt(at), ch.liveAt(at), "after compact(" + c + "): liveAt(" + at + ")");
      }
      assertEquals(h.version(), ch.version());
      assertEquals(h.createMain(), ch.createMain());
      assertEquals(h.isDeleted(), ch.isDeleted());
    }
  }
}
