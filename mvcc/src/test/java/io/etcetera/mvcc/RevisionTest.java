package io.etcetera.mvcc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RevisionTest {

  @Test
  void keyIsSeventeenBytesBigEndianMainUnderscoreSub() {
    byte[] k = new Revision(0x0102030405060708L, 0x1112131415161718L).toKey(false);
    assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, '_', 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}, k);
    assertEquals(Revision.KEY_LENGTH, k.length);
  }

  @Test
  void smallRevisionKeyAsEtcdWritesIt() {
    // etcd's revToBytes(revision{main: 2, sub: 1})
    byte[] k = new Revision(2, 1).toKey(false);
    byte[] expected = new byte[17];
    expected[7] = 2;
    expected[8] = '_';
    expected[16] = 1;
    assertArrayEquals(expected, k);
  }

  @Test
  void tombstoneKeyCarriesOneMoreByteT() {
    byte[] k = new Revision(5, 3).toKey(true);
    assertEquals(18, k.length);
    assertEquals('t', k[17]);
    assertArrayEquals(new Revision(5, 3).toKey(false), Arrays.copyOf(k, 17));
    assertTrue(Revision.isTombstoneKey(k));
    assertFalse(Revision.isTombstoneKey(new Revision(5, 3).toKey(false)));
  }

  @Test
  void fromKeyRoundTripsPutAndTombstoneKeys() {
    Random rnd = new Random(42);
    for (int i = 0; i < 1000; i++) {
      Revision r = new Revision(rnd.nextLong() & Long.MAX_VALUE, rnd.nextInt(1 << 20));
      assertEquals(r, Revision.fromKey(r.toKey(false)));
      assertEquals(r, Revision.fromKey(r.toKey(true)));
    }
  }

  @Test
  void fromKeyRejectsOtherLengths() {
    assertThrows(IllegalArgumentException.class, () -> Revision.fromKey(new byte[16]));
    assertThrows(IllegalArgumentException.class, () -> Revision.fromKey(new byte[19]));
    assertThrows(IllegalArgumentException.class, () -> Revision.fromKey(new byte[0]));
  }

  @Test
  void eighteenByteKeyWithoutTMarkIsNotATombstone() {
    byte[] k = Arrays.copyOf(new Revision(1, 0).toKey(false), 18);
    k[17] = 'x';
    assertFalse(Revision.isTombstoneKey(k));
  }

  @Test
  void unsignedByteOrderOfKeysIsRevisionOrder() {
    // RocksDB sorts rows by unsigned bytes: that must be (main, sub) order, including big values
    Random rnd = new Random(7);
    long[] mains = {0, 1, 2, 255, 256, 65535, 1L << 31, (1L << 32) + 1, Long.MAX_VALUE};
    for (int i = 0; i < 2000; i++) {
      Revision a = new Revision(mains[rnd.nextInt(mains.length)], rnd.nextInt(300));
      Revision b = new Revision(mains[rnd.nextInt(mains.length)], rnd.nextInt(300));
      int byRev = Integer.signum(a.compareTo(b));
      int byKey = Integer.signum(Arrays.compareUnsigned(a.toKey(false), b.toKey(false)));
      assertEquals(byRev, byKey, a + " vs " + b);
      // a tombstone key sorts right after the put key of the same revision and before the next
      if (byRev < 0) {
        assertTrue(Arrays.compareUnsigned(a.toKey(true), b.toKey(false)) < 0, a + "t vs " + b);
      }
    }
  }

  @Test
  void compareToOrdersByMainThenSub() {
    assertTrue(new Revision(1, 5).compareTo(new Revision(2, 0)) < 0);
    assertTrue(new Revision(2, 1).compareTo(new Revision(2, 0)) > 0);
    assertEquals(0, new Revision(3, 3).compareTo(new Revision(3, 3)));
  }

  @Test
  void startKeyIsTheSmallestKeyOfAMainRevision() {
    assertArrayEquals(new Revision(9, 0).toKey(false), Revision.startKey(9));
    assertTrue(Arrays.compareUnsigned(new Revision(8, Integer.MAX_VALUE).toKey(true), Revision.startKey(9)) < 0);
  }
}
