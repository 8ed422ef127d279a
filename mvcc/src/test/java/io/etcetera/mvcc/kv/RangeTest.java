package io.etcetera.mvcc.kv;

import static io.etcetera.mvcc.testutil.Req.bs;
import static io.etcetera.mvcc.testutil.Req.keys;
import static io.etcetera.mvcc.testutil.Req.kv;
import static io.etcetera.mvcc.testutil.Req.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RangeRequest.SortOrder;
import io.etcetera.api.etcdserverpb.RangeRequest.SortTarget;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.testutil.KvFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class RangeTest {
  @TempDir
  Path dir;
  KvFixture kv;

  /**
   * Revisions: 2 foo=1, 3 foo/a=2, 4 foo/b=3, 5 fop=4, 6 foo/a=5, 7 bar=0, 8 foo/c=z, 9 del fop,
   * 10 zz=last.
   */
  @BeforeEach
  void open() {
    kv = KvFixture.open(dir);
    kv.put("foo", "1"); // 2
    kv.put("foo/a", "2"); // 3
    kv.put("foo/b", "3"); // 4
    kv.put("fop", "4"); // 5
    kv.put("foo/a", "5"); // 6
    kv.put("bar", "0"); // 7
    kv.put("foo/c", "z"); // 8
    kv.delete("fop"); // 9
    kv.put("zz", "last"); // 10
  }

  @AfterEach
  void close() {
    kv.close();
  }

  private RangeResponse range(RangeRequest.Builder r) {
    return kv.range(r.build());
  }

  @Test
  void singleKey() {
    RangeResponse r = range(Req.range("foo/a"));
    assertEquals(List.of(kv("foo/a", "5", 3, 6, 2)), r.getKvsList());
    assertEquals(1, r.getCount());
    assertFalse(r.getMore());
    assertEquals(10, r.getHeader().getRevision());
    assertEquals(0, range(Req.range("foo/")).getCount()); // no prefix semantics without an end
    assertEquals(0, range(Req.range("fop")).getCount()); // deleted
  }

  @Test
  void prefix() {
    RangeResponse r = range(Req.range("foo/", Req.prefixEnd("foo/")));
    assertEquals(List.of("foo/a", "foo/b", "foo/c"), keys(r));
    assertEquals(3, r.getCount());
    assertEquals(List.of("foo", "foo/a", "foo/b", "foo/c"), keys(range(Req.range("foo", "fop"))));
  }

  @Test
  void fromKey() {
    assertEquals(List.of("foo/b", "foo/c", "zz"), keys(range(Req.range("foo/b", "\0"))));
  }

  @Test
  void allKeys() {
    RangeResponse r = range(Req.all());
    assertEquals(List.of("bar", "foo", "foo/a", "foo/b", "foo/c", "zz"), keys(r));
    assertEquals(6, r.getCount());
  }

  @Test
  void keyAtOrAfterRangeEndGivesNothing() {
    RangeResponse r = range(Req.range("foo", "foo"));
    assertEquals(0, r.getCount());
    assertEquals(0, r.getKvsCount());
    assertEquals(0, range(Req.range("zz", "bar")).getCount());
    assertEquals(10, r.getHeader().getRevision());
  }

  @Test
  void limitSetsMoreAndCountIsEveryKeyInTheRange() {
    RangeResponse r = range(Req.all().setLimit(2));
    assertEquals(List.of("bar", "foo"), keys(r));
    assertTrue(r.getMore());
    assertEquals(6, r.getCount());
    // a limit of exactly the number of keys: no more
    RangeResponse exact = range(Req.all().setLimit(6));
    assertEquals(6, exact.getKvsCount());
    assertFalse(exact.getMore());
    assertEquals(6, exact.getCount());
    RangeResponse over = range(Req.all().setLimit(100));
    assertFalse(over.getMore());
    RangeResponse five = range(Req.all().setLimit(5));
    assertTrue(five.getMore());
    assertEquals(5, five.getKvsCount());
    // a negative limit means no limit
    assertEquals(6, range(Req.all().setLimit(-1)).getKvsCount());
  }

  @Test
  void limitOnAHistoricalRead() {
    RangeResponse r = range(Req.all().setLimit(1).setRevision(4));
    assertEquals(List.of("foo"), keys(r));
    assertTrue(r.getMore());
    assertEquals(3, r.getCount());
  }

  @Test
  void countOnly() {
    RangeResponse r = range(Req.all().setCountOnly(true));
    assertEquals(0, r.getKvsCount());
    assertEquals(6, r.getCount());
    assertFalse(r.getMore());
    RangeResponse limited = range(Req.all().setCountOnly(true).setLimit(2));
    assertEquals(0, limited.getKvsCount());
    assertEquals(6, limited.getCount());
    assertEquals(4, range(Req.all().setCountOnly(true).setRevision(5)).getCount());
  }

  @Test
  void keysOnly() {
    RangeResponse r = range(Req.range("foo/", "foo0").setKeysOnly(true));
    assertEquals(3, r.getKvsCount());
    for (KeyValue x : r.getKvsList()) {
      assertTrue(x.getValue().isEmpty());
      assertTrue(x.getModRevision() > 0);
      assertTrue(x.getVersion() > 0);
    }
    assertEquals(kv("foo/a", "", 3, 6, 2), r.getKvs(0));
  }

  private static final Comparator<com.google.protobuf.ByteString> BYTES =
      com.google.protobuf.ByteString.unsignedLexicographicalComparator();

  private static Comparator<KeyValue> by(SortTarget t) {
    return switch (t) {
      case KEY -> (a, b) -> BYTES.compare(a.getKey(), b.getKey());
      case VALUE -> (a, b) -> BYTES.compare(a.getValue(), b.getValue());
      case VERSION -> Comparator.comparingLong(KeyValue::getVersion);
      case CREATE -> Comparator.comparingLong(KeyValue::getCreateRevision);
      case MOD -> Comparator.comparingLong(KeyValue::getModRevision);
      default -> throw new IllegalArgumentException();
    };
  }

  private static void assertSorted(List<KeyValue> kvs, Comparator<KeyValue> c, String what) {
    for (int i = 1; i < kvs.size(); i++) {
      assertTrue(c.compare(kvs.get(i - 1), kvs.get(i)) <= 0, what + ": " + kvs);
    }
  }

  @ParameterizedTest
  @EnumSource(value = SortTarget.class, names = {"KEY", "VERSION", "CREATE", "MOD", "VALUE"})
  void sortByEachTargetBothOrders(SortTarget target) {
    RangeResponse asc = range(Req.all().setSortTarget(target).setSortOrder(SortOrder.ASCEND));
    RangeResponse desc = range(Req.all().setSortTarget(target).setSortOrder(SortOrder.DESCEND));
    assertEquals(6, asc.getKvsCount());
    assertEquals(6, desc.getKvsCount());
    assertSorted(asc.getKvsList(), by(target), target + " ascending");
    assertSorted(desc.getKvsList(), by(target).reversed(), target + " descending");
    // same set of keys either way
    List<String> a = new ArrayList<>(keys(asc));
    List<String> d = new ArrayList<>(keys(desc));
    a.sort(null);
    d.sort(null);
    assertEquals(a, d);
  }

  @Test
  void sortedOrdersOnDistinctValuesAreExact() {
    assertEquals(List.of("zz", "foo/c", "foo/b", "foo/a", "foo", "bar"),
        keys(range(Req.all().setSortTarget(SortTarget.KEY).setSortOrder(SortOrder.DESCEND))));
    // mod revisions: bar 7, foo 2, foo/a 6, foo/b 4, foo/c 8, zz 10
    assertEquals(List.of("foo", "foo/b", "foo/a", "bar", "foo/c", "zz"),
        keys(range(Req.all().setSortTarget(SortTarget.MOD).setSortOrder(SortOrder.ASCEND))));
    // values: 0, 1, 3, 5, last, z
    assertEquals(List.of("foo/c", "zz", "foo/a", "foo/b", "foo", "bar"),
        keys(range(Req.all().setSortTarget(SortTarget.VALUE).setSortOrder(SortOrder.DESCEND))));
  }

  @Test
  void nonKeyTargetWithOrderNoneSortsAscending() {
    RangeResponse r = range(Req.all().setSortTarget(SortTarget.CREATE).setSortOrder(SortOrder.NONE));
    // create revisions: bar 7, foo 2, foo/a 3, foo/b 4, foo/c 8, zz 10
    assertEquals(List.of("foo", "foo/a", "foo/b", "bar", "foo/c", "zz"), keys(r));
    // KEY with NONE stays in key order
    assertEquals(List.of("bar", "foo", "foo/a", "foo/b", "foo/c", "zz"),
        keys(range(Req.all().setSortTarget(SortTarget.KEY).setSortOrder(SortOrder.NONE))));
  }

  @Test
  void nonKeyTargetWithOrderNoneAndALimitSortsOnlyTheFirstPageAsEtcd() {
    // etcd fetches limit+1 keys in key order when sort_order is NONE, then sorts that page by the
    // target: bar(mod 7), foo(2), foo/a(6) -> foo, foo/a
    RangeResponse r = range(Req.all().setSortTarget(SortTarget.MOD).setSortOrder(SortOrder.NONE).setLimit(2));
    assertEquals(List.of("foo", "foo/a"), keys(r));
    assertTrue(r.getMore());
    assertEquals(6, r.getCount());
  }

  @Test
  void negativeRevisionReadsTheLatest() {
    assertEquals(kv.all(0), range(Req.all().setRevision(-1)));
    kv.compact(5);
    assertEquals(kv.all(0), range(Req.all().setRevision(-3)));
  }

  @Test
  void sortWithLimitSortsEverythingThenCuts() {
    RangeResponse r = range(Req.all().setSortTarget(SortTarget.MOD).setSortOrder(SortOrder.DESCEND).setLimit(2));
    assertEquals(List.of("zz", "foo/c"), keys(r));
    assertTrue(r.getMore());
    assertEquals(6, r.getCount());
  }

  @Test
  void sortByVersionKeepsTheHigherVersionLast() {
    RangeResponse r = range(Req.range("foo/", "foo0").setSortTarget(SortTarget.VERSION).setSortOrder(SortOrder.ASCEND));
    assertEquals("foo/a", keys(r).get(2));
    RangeResponse d = range(Req.range("foo/", "foo0").setSortTarget(SortTarget.VERSION).setSortOrder(SortOrder.DESCEND));
    assertEquals("foo/a", keys(d).get(0));
  }

  @Test
  void modAndCreateRevisionFilters() {
    assertEquals(List.of("bar", "foo/c", "zz"), keys(range(Req.all().setMinModRevision(7))));
    assertEquals(List.of("foo", "foo/b"), keys(range(Req.all().setMaxModRevision(4))));
    assertEquals(List.of("foo/a", "foo/b"), keys(range(Req.all().setMinCreateRevision(3).setMaxCreateRevision(4))));
    assertEquals(List.of("foo/a", "foo/b"), keys(range(Req.all().setMinModRevision(4).setMaxModRevision(6))));
    RangeResponse both = range(Req.all().setMinCreateRevision(3).setMaxModRevision(7));
    assertEquals(List.of("bar", "foo/a", "foo/b"), keys(both));
    // count is before filtering, as in etcd
    assertEquals(6, both.getCount());
  }

  @Test
  void filtersAreAppliedBeforeTheLimit() {
    RangeResponse r = range(Req.all().setMinModRevision(7).setLimit(2));
    assertEquals(List.of("bar", "foo/c"), keys(r));
    assertTrue(r.getMore());
    RangeResponse exact = range(Req.all().setMinModRevision(7).setLimit(3));
    assertFalse(exact.getMore());
  }

  @Test
  void historicalReadSeesExactlyTheStateAfterThatRevision() {
    assertEquals(List.of(), keys(kv.all(1)));
    assertEquals(List.of(kv("foo", "1", 2, 2, 1)), kv.all(2).getKvsList());
    assertEquals(List.of(kv("foo", "1", 2, 2, 1), kv("foo/a", "2", 3, 3, 1), kv("foo/b", "3", 4, 4, 1),
        kv("fop", "4", 5, 5, 1)), kv.all(5).getKvsList());
    assertEquals(kv("foo/a", "5", 3, 6, 2), kv.getAt("foo/a", 6).getKvs(0));
    assertEquals(kv("foo/a", "2", 3, 3, 1), kv.getAt("foo/a", 5).getKvs(0));
    assertEquals(List.of("bar", "foo", "foo/a", "foo/b", "foo/c", "fop"), keys(kv.all(8)));
    assertEquals(List.of("bar", "foo", "foo/a", "foo/b", "foo/c"), keys(kv.all(9)));
    // the header is the current revision whatever the read revision
    assertEquals(10, kv.all(3).getHeader().getRevision());
  }

  @Test
  void futureRevisionIsFutureRev() {
    EtcdException e = assertThrows(EtcdException.class, () -> kv.all(11));
    assertEquals(EtcdError.FUTURE_REV, e.error());
    assertEquals(10, kv.all(10).getHeader().getRevision());
  }

  @Test
  void compactedRevisionIsCompactedButTheCompactRevisionItselfReads() {
    kv.compact(6);
    EtcdException e = assertThrows(EtcdException.class, () -> kv.all(5));
    assertEquals(EtcdError.COMPACTED, e.error());
    assertEquals(EtcdError.COMPACTED, assertThrows(EtcdException.class, () -> kv.getAt("foo", 1)).error());
    assertEquals(List.of("foo", "foo/a", "foo/b", "fop"), keys(kv.all(6)));
    assertEquals(kv("foo/a", "5", 3, 6, 2), kv.getAt("foo/a", 6).getKvs(0));
    // the current revision (0) still reads
    assertEquals(6, kv.all(0).getCount());
  }

  @Test
  void binaryKeysOrderAsUnsignedBytes() {
    kv.put(Req.putBuilder("\u0001").setValue(bs("low")).build());
    kv.put(io.etcetera.api.etcdserverpb.PutRequest.newBuilder()
        .setKey(com.google.protobuf.ByteString.copyFrom(new byte[] {(byte) 0xff})).setValue(bs("high")).build());
    RangeResponse r = range(Req.all());
    assertEquals(0x01, r.getKvs(0).getKey().byteAt(0));
    assertEquals((byte) 0xff, r.getKvs(r.getKvsCount() - 1).getKey().byteAt(0));
    // a range up to 0x80 does not include 0xff
    RangeResponse low = kv.range(RangeRequest.newBuilder().setKey(bs("\u0001"))
        .setRangeEnd(com.google.protobuf.ByteString.copyFrom(new byte[] {(byte) 0x80})).build());
    assertEquals(7, low.getCount());
  }

  @Test
  void rangeResultDirectlyFromTheStore() {
    RangeResult rr = kv.store().range(Req.bytes("foo/"), Req.bytes("foo0"), 0, 2, false);
    assertEquals(3, rr.count());
    assertEquals(2, rr.kvs().size());
    assertEquals(10, rr.headerRevision());
    RangeResult counted = kv.store().range(Req.bytes("foo/"), Req.bytes("foo0"), 4, 0, true);
    assertEquals(2, counted.count());
    assertEquals(0, counted.kvs().size());
    ToLongFunction<KeyValue> mod = KeyValue::getModRevision;
    assertEquals(6, mod.applyAsLong(kv.store().range(Req.bytes("foo/a"), new byte[0], 0, 0, false).kvs().get(0)));
  }
}
