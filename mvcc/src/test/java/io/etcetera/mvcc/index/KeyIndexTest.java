package io.etcetera.mvcc.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.mvcc.Revision;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeyIndexTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static List<String> keys(Iterable<Map.Entry<byte[], KeyHistory>> it) {
    List<String> out = new ArrayList<>();
    for (Map.Entry<byte[], KeyHistory> e : it) {
      out.add(new String(e.getKey(), StandardCharsets.UTF_8));
    }
    return out;
  }

  private static KeyIndex abcd() {
    KeyIndex idx = new KeyIndex();
    long rev = 2;
    for (String k : List.of("b", "a", "d", "c", "ab")) {
      idx.put(b(k), rev++, 0, 0);
    }
    return idx;
  }

  @Test
  void singleKeyWhenEndIsEmpty() {
    KeyIndex idx = abcd();
    assertEquals(List.of("a"), keys(idx.range(b("a"), new byte[0])));
    assertEquals(List.of(), keys(idx.range(b("zz"), new byte[0])));
  }

  @Test
  void halfOpenRangeInUnsignedByteOrder() {
    KeyIndex idx = abcd();
    assertEquals(List.of("a", "ab", "b"), keys(idx.range(b("a"), b("c"))));
    assertEquals(List.of("a", "ab"), keys(idx.range(b("a"), b("b"))));
  }

  @Test
  void fromKeyWhenEndIsTheZeroByte() {
    KeyIndex idx = abcd();
    assertEquals(List.of("b", "c", "d"), keys(idx.range(b("b"), new byte[] {0})));
    assertEquals(List.of("a", "ab", "b", "c", "d"), keys(idx.range(new byte[] {0}, new byte[] {0})));
  }

  @Test
  void nothingWhenKeyIsAtOrAfterEnd() {
    KeyIndex idx = abcd();
    assertEquals(List.of(), keys(idx.range(b("c"), b("c"))));
    assertEquals(List.of(), keys(idx.range(b("d"), b("a"))));
  }

  @Test
  void keysOrderAsUnsignedBytes() {
    KeyIndex idx = new KeyIndex();
    idx.put(new byte[] {(byte) 0xff}, 2, 0, 0);
    idx.put(new byte[] {0x01}, 3, 0, 0);
    idx.put(new byte[] {(byte) 0x80, 0}, 4, 0, 0);
    List<Integer> first = new ArrayList<>();
    for (Map.Entry<byte[], KeyHistory> e : idx.range(new byte[] {0}, new byte[] {0})) {
      first.add(e.getKey()[0] & 0xff);
    }
    assertEquals(List.of(0x01, 0x80, 0xff), first);
  }

  @Test
  void tombstoneOfUnknownKeyIsRefused() {
    KeyIndex idx = new KeyIndex();
    assertThrows(IllegalStateException.class, () -> idx.tombstone(b("x"), 2, 0));
  }

  @Test
  void compactReportsKeptRevisionsAndDropsDeadKeys() {
    KeyIndex idx = new KeyIndex();
    idx.put(b("a"), 2, 0, 0);
    idx.put(b("b"), 3, 0, 0);
    idx.put(b("a"), 4, 0, 0);
    idx.tombstone(b("b"), 5, 0);
    idx.put(b("c"), 6, 0, 0);
    idx.tombstone(b("a"), 7, 0);

    Map<String, Revision> kept = new HashMap<>();
    idx.compact(5, (k, r) -> kept.put(new String(k, StandardCharsets.UTF_8), r));
    // a: newest at or below 5 is 4.0 (live) and it is deleted later at 7: kept
    // b: deleted at 5: gone; c: first written at 6: nothing at or below 5
    assertEquals(Map.of("a", new Revision(4, 0)), kept);
    assertNull(idx.get(b("b")));
    assertEquals(2, idx.size());
    assertEquals("KeyHistory[4.0 7.0t]", idx.get(b("a")).toString());
    assertEquals("KeyHistory[6.0]", idx.get(b("c")).toString());

    kept.clear();
    idx.compact(7, (k, r) -> kept.put(new String(k, StandardCharsets.UTF_8), r));
    assertEquals(Map.of("c", new Revision(6, 0)), kept);
    assertNull(idx.get(b("a")));
    assertEquals(1, idx.size());
  }

  @Test
  void restoreRebuildsTheSameHistoryAsLiveWrites() {
    KeyIndex live = new KeyIndex();
    live.put(b("k"), 2, 0, 0);
    live.put(b("k"), 3, 0, 5);
    live.tombstone(b("k"), 4, 0);
    live.put(b("k"), 6, 1, 0);

    KeyIndex restored = new KeyIndex();
    restored.restore(b("k"), 2, 0, false, 2, 1, 0);
    restored.restore(b("k"), 3, 0, false, 2, 2, 5);
    restored.restore(b("k"), 4, 0, true, 0, 0, 0);
    restored.restore(b("k"), 6, 1, false, 6, 1, 0);

    KeyHistory a = live.get(b("k"));
    KeyHistory r = restored.get(b("k"));
    assertEquals(a.toString(), r.toString());
    assertEquals(a.version(), r.version());
    assertEquals(a.createMain(), r.createMain());
    for (long at = 0; at < 8; at++) {
      assertEquals(a.liveAt(at), r.liveAt(at));
    }
  }

  @Test
  void restoreAfterCompactionKeepsVersionAndCreateFromTheRow() {
    KeyIndex idx = new KeyIndex();
    // the oldest surviving row of a key compacted at 9: its 4th version, created at 3
    idx.restore(b("k"), 9, 0, false, 3, 4, 0);
    KeyHistory h = idx.put(b("k"), 10, 0, 0);
    assertEquals(5, h.version());
    assertEquals(3, h.createMain());
  }

  @Test
  void restoreIgnoresATombstoneWhosePutsWereCompactedAway() {
    KeyIndex idx = new KeyIndex();
    idx.restore(b("k"), 4, 0, true, 0, 0, 0);
    assertNull(idx.get(b("k")));
    assertEquals(0, idx.size());
    idx.restore(b("k"), 6, 0, false, 6, 1, 0);
    assertTrue(idx.get(b("k")).isLiveAt(6));
  }
}
