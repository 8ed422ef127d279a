package io.etcetera.mvcc.apply;

import static io.etcetera.mvcc.testutil.Req.bs;
import static io.etcetera.mvcc.testutil.Req.cmp;
import static io.etcetera.mvcc.testutil.Req.op;
import static io.etcetera.mvcc.testutil.Req.put;
import static io.etcetera.mvcc.testutil.Req.txn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.Compare.CompareResult;
import io.etcetera.api.etcdserverpb.Compare.CompareTarget;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.mvcc.testutil.KvFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every compare target against every result, on a key that exists and on one that does not,
 * with etcd's rules (apply.go applyCompare/compareKV).
 */
class TxnCompareTest {
  static final long LEASE = 0x77;

  @TempDir
  Path dir;
  KvFixture kv;

  /** "k": value "m", create 2, mod 4, version 2, lease 0x77. */
  @BeforeEach
  void open() {
    kv = KvFixture.open(dir, id -> id == LEASE);
    kv.put("k", "x"); // 2
    kv.put("other", "o"); // 3
    kv.put(Req.putBuilder("k").setValue(bs("m")).setLease(LEASE).build()); // 4
    kv.put("r/1", "a"); // 5
    kv.put("r/2", "b"); // 6
    kv.put("r/2", "c"); // 7
    kv.put("r/3", "d"); // 8
    kv.put("r/3", "e"); // 9
    kv.put("r/3", "f"); // 10
  }

  @AfterEach
  void close() {
    kv.close();
  }

  private static Compare compare(String key, CompareTarget target, CompareResult result, long n) {
    Compare.Builder c = cmp(key, target, result);
    switch (target) {
      case VERSION -> c.setVersion(n);
      case CREATE -> c.setCreateRevision(n);
      case MOD -> c.setModRevision(n);
      case LEASE -> c.setLease(n);
      case VALUE -> c.setValue(bs(String.valueOf((char) n)));
      default -> throw new IllegalArgumentException();
    }
    return c.build();
  }

  private static boolean holds(CompareResult r, int sign) {
    return switch (r) {
      case EQUAL -> sign == 0;
      case NOT_EQUAL -> sign != 0;
      case GREATER -> sign > 0;
      case LESS -> sign < 0;
      default -> throw new IllegalArgumentException();
    };
  }

  private boolean succeeds(Compare... cs) {
    TxnRequest.Builder t = txn();
    for (Compare c : cs) {
      t.addCompare(c);
    }
    TxnResponse r = kv.txn(t.addSuccess(op(Req.range("k"))).build());
    assertEquals(r.getSucceeded() ? 1 : 0, r.getResponsesCount());
    return r.getSucceeded();
  }

  static Stream<Arguments> targetsAndResults() {
    List<Arguments> out = new ArrayList<>();
    for (CompareTarget t : List.of(CompareTarget.VALUE, CompareTarget.VERSION, CompareTarget.CREATE,
        CompareTarget.MOD, CompareTarget.LEASE)) {
      for (CompareResult r : List.of(CompareResult.EQUAL, CompareResult.NOT_EQUAL, CompareResult.GREATER,
          CompareResult.LESS)) {
        out.add(Arguments.of(t, r));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} {1} on an existing key")
  @MethodSource("targetsAndResults")
  void compareOnAnExistingKey(CompareTarget target, CompareResult result) {
    long actual = switch (target) {
      case VALUE -> 'm';
      case VERSION -> 2;
      case CREATE -> 2;
      case MOD -> 4;
      case LEASE -> LEASE;
      default -> throw new IllegalArgumentException();
    };
    for (long given : new long[] {actual - 1, actual, actual + 1}) {
      int sign = Long.compare(actual, given);
      assertEquals(holds(result, sign), succeeds(compare("k", target, result, given)),
          "k." + target + " (" + actual + ") " + result + " " + given);
    }
  }

  @ParameterizedTest(name = "{0} {1} on a missing key")
  @MethodSource("targetsAndResults")
  void compareOnAMissingKey(CompareTarget target, CompareResult result) {
    for (long given : new long[] {0, 1, 5}) {
      boolean expected = target != CompareTarget.VALUE && holds(result, Long.compare(0, given));
      assertEquals(expected, succeeds(compare("missing", target, result, given)),
          "missing." + target + " " + result + " " + given);
    }
  }

  @Test
  void valueCompareOnAMissingKeyIsFalseEvenAgainstTheEmptyValue() {
    assertFalse(succeeds(Req.value("missing", CompareResult.EQUAL, "")));
    assertFalse(succeeds(Req.value("missing", CompareResult.NOT_EQUAL, "")));
    assertFalse(succeeds(Req.value("missing", CompareResult.NOT_EQUAL, "x")));
  }

  @Test
  void valueCompareOnAnEmptyValueAgainstTheEmptyValueIsEqual() {
    kv.put("empty", "");
    assertTrue(succeeds(Req.value("empty", CompareResult.EQUAL, "")));
    assertTrue(succeeds(Req.value("empty", CompareResult.LESS, "a")));
  }

  @Test
  void valueCompareIsUnsignedBytewise() {
    kv.put(Req.putBuilder("bin").setValue(com.google.protobuf.ByteString.copyFrom(new byte[] {(byte) 0xff})).build());
    Compare gt = cmp("bin", CompareTarget.VALUE, CompareResult.GREATER)
        .setValue(com.google.protobuf.ByteString.copyFrom(new byte[] {0x01})).build();
    assertTrue(succeeds(gt));
    // a longer value with the same prefix is greater
    assertTrue(succeeds(Req.value("k", CompareResult.LESS, "mm")));
    assertTrue(succeeds(Req.value("k", CompareResult.GREATER, "")));
  }

  @Test
  void compareWithAnotherTargetUnionFieldComparesAgainstZero() {
    // target VERSION but the union holds a mod revision: etcd compares the version with 0
    Compare c = cmp("k", CompareTarget.VERSION, CompareResult.GREATER).setModRevision(100).build();
    assertTrue(succeeds(c));
    Compare eq = cmp("k", CompareTarget.MOD, CompareResult.EQUAL).setVersion(4).build();
    assertFalse(succeeds(eq));
    // target VALUE with no value in the union compares with the empty value
    Compare v = cmp("k", CompareTarget.VALUE, CompareResult.GREATER).setVersion(1).build();
    assertTrue(succeeds(v));
  }

  @Test
  void everyCompareMustHold() {
    assertTrue(succeeds(Req.version("k", CompareResult.EQUAL, 2), Req.mod("k", CompareResult.EQUAL, 4)));
    assertFalse(succeeds(Req.version("k", CompareResult.EQUAL, 2), Req.mod("k", CompareResult.EQUAL, 3)));
    assertFalse(succeeds(Req.version("k", CompareResult.EQUAL, 1), Req.mod("k", CompareResult.EQUAL, 4)));
    assertTrue(succeeds()); // no compare: success
  }

  // ---- ranged compares: every key of the range must satisfy

  private static Compare ranged(String key, String end, CompareTarget target, CompareResult result, long n) {
    return compare(key, target, result, n).toBuilder().setRangeEnd(bs(end)).build();
  }

  @Test
  void rangedCompareHoldsOnlyWhenEveryKeyInTheRangeHolds() {
    // r/1 v1, r/2 v2, r/3 v3
    assertTrue(succeeds(ranged("r/", "r0", CompareTarget.VERSION, CompareResult.GREATER, 0)));
    assertFalse(succeeds(ranged("r/", "r0", CompareTarget.VERSION, CompareResult.GREATER, 1)));
    assertTrue(succeeds(ranged("r/", "r0", CompareTarget.VERSION, CompareResult.LESS, 4)));
    assertFalse(succeeds(ranged("r/", "r0", CompareTarget.VERSION, CompareResult.LESS, 3)));
    assertFalse(succeeds(ranged("r/", "r0", CompareTarget.VERSION, CompareResult.EQUAL, 2)));
    assertTrue(succeeds(ranged("r/", "r0", CompareTarget.VERSION, CompareResult.NOT_EQUAL, 4)));
    assertFalse(succeeds(ranged("r/", "r0", CompareTarget.VERSION, CompareResult.NOT_EQUAL, 2)));
    // a sub-range
    assertTrue(succeeds(ranged("r/2", "r/4", CompareTarget.VERSION, CompareResult.GREATER, 1)));
    assertTrue(succeeds(ranged("r/", "r0", CompareTarget.CREATE, CompareResult.GREATER, 4)));
    assertTrue(succeeds(ranged("r/", "r0", CompareTarget.MOD, CompareResult.GREATER, 4)));
    assertFalse(succeeds(ranged("r/", "r0", CompareTarget.MOD, CompareResult.GREATER, 5)));
    assertTrue(succeeds(ranged("r/", "r0", CompareTarget.VALUE, CompareResult.GREATER, '0')));
    assertFalse(succeeds(ranged("r/", "r0", CompareTarget.VALUE, CompareResult.EQUAL, 'a')));
  }

  @Test
  void rangedCompareFromKeyCoversEveryLaterKey() {
    assertTrue(succeeds(ranged("r/", "\0", CompareTarget.VERSION, CompareResult.GREATER, 0)));
    assertTrue(succeeds(ranged("r/2", "\0", CompareTarget.VERSION, CompareResult.GREATER, 1)));
    assertFalse(succeeds(ranged("k", "\0", CompareTarget.VERSION, CompareResult.GREATER, 1))); // other v1
  }

  @Test
  void rangedCompareOverNoKeyComparesAgainstZeroButValueFails() {
    assertTrue(succeeds(ranged("x", "y", CompareTarget.VERSION, CompareResult.EQUAL, 0)));
    assertTrue(succeeds(ranged("x", "y", CompareTarget.CREATE, CompareResult.LESS, 1)));
    assertFalse(succeeds(ranged("x", "y", CompareTarget.VALUE, CompareResult.NOT_EQUAL, 'z')));
    // key after range end: nothing in the range
    assertTrue(succeeds(ranged("r/3", "r/1", CompareTarget.MOD, CompareResult.EQUAL, 0)));
  }

  @Test
  void comparesSeeDeletedKeysAsMissing() {
    kv.delete("k");
    assertTrue(succeeds(Req.version("k", CompareResult.EQUAL, 0)));
    assertTrue(succeeds(Req.create("k", CompareResult.EQUAL, 0)));
    assertFalse(succeeds(Req.value("k", CompareResult.EQUAL, "m")));
    kv.put("k", "new");
    assertTrue(succeeds(Req.version("k", CompareResult.EQUAL, 1)));
    assertTrue(succeeds(Req.create("k", CompareResult.EQUAL, kv.currentRevision())));
  }
}
