package io.etcetera.e2e.linearizability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.e2e.linearizability.LinearizabilityChecker.Budget;
import io.etcetera.e2e.linearizability.LinearizabilityChecker.Result;
import io.etcetera.e2e.linearizability.Operation.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The checker on hand-written and generated histories (no server). Times are small integers. */
class LinearizabilityCheckerTest {

  private static final String K = "k";

  private static History history(Operation... ops) {
    History h = new History();
    for (Operation o : ops) h.add(o);
    return h;
  }

  private static Operation r(int c, long inv, long resp, String out) {
    return Operation.read(c, K, inv, resp, out);
  }

  private static Operation w(int c, long inv, long resp, String v) {
    return Operation.write(c, K, v, inv, resp);
  }

  private static Operation cas(int c, long inv, long resp, String expected, String v, boolean ok) {
    return Operation.cas(c, K, expected, v, inv, resp, ok);
  }

  private static Operation unknownWrite(int c, long inv, String v) {
    return Operation.unknown(c, Kind.WRITE, K, null, v, inv, "DEADLINE_EXCEEDED");
  }

  private static Operation unknownCas(int c, long inv, String expected, String v) {
    return Operation.unknown(c, Kind.CAS, K, expected, v, inv, "UNAVAILABLE");
  }

  private static void assertLinearizable(History h) {
    Result res = LinearizabilityChecker.check(h);
    assertTrue(res.ok(), () -> res.describe() + "\nhistory:\n" + h.dump());
  }

  private static Result assertNotLinearizable(History h) {
    Result res = LinearizabilityChecker.check(h);
    assertEquals(Result.Verdict.NOT_LINEARIZABLE, res.verdict(), () -> res.describe() + "\nhistory:\n" + h.dump());
    assertFalse(res.ok());
    assertFalse(res.involved().isEmpty(), res::describe);
    return res;
  }

  // ---- accepted ----------------------------------------------------------------------------

  @Test
  void emptyHistory() {
    assertLinearizable(new History());
  }

  @Test
  void sequentialHistory() {
    assertLinearizable(history(
        r(1, 0, 1, null),
        w(1, 2, 3, "a"),
        r(2, 4, 5, "a"),
        cas(1, 6, 7, "a", "b", true),
        r(2, 8, 9, "b"),
        cas(2, 10, 11, "a", "c", false),
        cas(1, 12, 13, null, "d", false),
        r(1, 14, 15, "b")));
  }

  @Test
  void casOnAbsentKey() {
    assertLinearizable(history(
        cas(1, 0, 1, null, "a", true),
        cas(2, 2, 3, null, "b", false),
        r(1, 4, 5, "a")));
  }

  @Test
  void concurrentOverlappingOperations() {
    // a and b are written concurrently; reads inside the writes' windows see a, then b
    assertLinearizable(history(
        w(1, 0, 10, "a"),
        w(2, 1, 9, "b"),
        r(3, 2, 3, "a"),
        r(4, 4, 5, "b"),
        r(3, 11, 12, "b")));
    // the reverse order is fine too; so is a read overlapping everything seeing the initial state
    assertLinearizable(history(
        w(1, 0, 10, "a"),
        w(2, 1, 9, "b"),
        r(3, 2, 3, "b"),
        r(4, 4, 5, "a"),
        r(5, 0, 20, null),
        r(3, 11, 12, "a")));
  }

  @Test
  void concurrentCasOnlyOneWins() {
    assertLinearizable(history(
        w(1, 0, 1, "a"),
        cas(1, 2, 6, "a", "b", true),
        cas(2, 3, 5, "a", "c", false),
        cas(3, 3, 7, "a", "d", false),
        r(2, 8, 9, "b")));
  }

  @Test
  void readsMayTakeEffectAtTheSameInstantAsTheyOverlap() {
    // equal timestamps count as overlapping
    assertLinearizable(history(w(1, 0, 5, "a"), r(2, 5, 6, "a"), r(3, 1, 5, "a")));
  }

  @Test
  void unknownWriteThatTookEffect() {
    assertLinearizable(history(
        unknownWrite(1, 0, "a"),
        r(2, 1, 2, null), // not yet
        r(2, 5, 6, "a"), // now it is
        r(3, 7, 8, "a")));
  }

  @Test
  void unknownWriteThatNeverTookEffect() {
    assertLinearizable(history(
        w(2, 0, 1, "x"),
        unknownWrite(1, 2, "a"),
        r(2, 3, 4, "x"),
        w(2, 5, 6, "y"),
        r(3, 7, 8, "y")));
  }

  @Test
  void unknownWriteTakingEffectLongAfterwards() {
    // the client gave up on "a" at 3, yet it lands at ~50: allowed (its response time is +infinity)
    assertLinearizable(history(
        unknownWrite(1, 0, "a"),
        w(2, 10, 11, "b"),
        r(2, 20, 21, "b"),
        r(3, 50, 51, "a"),
        r(2, 60, 61, "a")));
  }

  @Test
  void unobservedUnknownWriteExplainsAFailedCas() {
    Operation[] base = {
        w(1, 0, 1, "x"),
        cas(2, 4, 5, "x", "y", false), // x was current... unless the unknown write landed in between
        r(3, 6, 7, "x")};
    // without the unknown write: impossible
    assertNotLinearizable(history(base));
    // with it... it would have to be undone before the read of x: still impossible
    assertNotLinearizable(history(base[0], unknownWrite(3, 2, "u"), base[1], base[2]));
    // without the read: fine
    assertLinearizable(history(base[0], unknownWrite(3, 2, "u"), base[1]));
  }

  @Test
  void unknownCasThatDidAndDidNotApply() {
    assertLinearizable(history(
        w(1, 0, 1, "a"),
        unknownCas(2, 2, "a", "b"),
        r(3, 3, 4, "a"),
        r(3, 5, 6, "b"))); // it applied, late
    assertLinearizable(history(
        w(1, 0, 1, "a"),
        unknownCas(2, 2, "a", "b"),
        r(3, 3, 4, "a"),
        w(1, 5, 6, "c"),
        r(3, 7, 8, "c"))); // it never applied (or applied before c: unobservable)
  }

  @Test
  void manyUnknownWritesStayCheap() {
    // 300 timed-out writes nobody read, then normal traffic (10 failed CASes need some of them to
    // have landed): the search must not explode
    History h = new History();
    h.add(w(0, 0, 1, "start"));
    for (int i = 0; i < 300; i++) h.add(unknownWrite(1 + i % 8, 2 + i, "lost-" + i));
    long t = 400;
    for (int i = 0; i < 500; i++, t += 5) {
      h.add(w(0, t, t + 2, "v" + i));
      h.add(r(9, t + 3, t + 4, "v" + i));
      h.add(cas(10, t + 3, t + 4, i == 0 ? "start" : "v" + (i - 1), "n" + i, false));
      // failing while v<i> is current: only possible if one of the lost writes landed just before
      if (i % 50 == 0) h.add(cas(11, t + 3, t + 4, "v" + i, "m" + i, false));
    }
    Result res = LinearizabilityChecker.check(h);
    assertTrue(res.ok(), res::describe);
    // and an impossible read at the end is still found
    h.add(r(9, t + 10, t + 11, "v3"));
    Result bad = LinearizabilityChecker.check(h);
    assertEquals(Result.Verdict.NOT_LINEARIZABLE, bad.verdict(), bad::describe);
  }

  @Test
  void failedOperationsAreIgnored() {
    assertLinearizable(history(
        w(1, 0, 1, "a"),
        Operation.failed(2, Kind.WRITE, K, null, "b", 2, 3, "INVALID_ARGUMENT"),
        Operation.failed(2, Kind.READ, K, null, null, 2, 3, "INVALID_ARGUMENT"),
        Operation.unknown(3, Kind.READ, K, null, null, 2, "DEADLINE_EXCEEDED"),
        r(1, 4, 5, "a")));
  }

  @Test
  void keysAreIndependent() {
    assertLinearizable(history(
        Operation.write(1, "x", "x1", 0, 1),
        Operation.write(1, "y", "y1", 2, 3),
        Operation.read(2, "x", 4, 5, "x1"),
        Operation.read(2, "y", 4, 5, "y1"),
        Operation.read(2, "z", 4, 5, null)));
  }

  // ---- rejected ----------------------------------------------------------------------------

  @Test
  void staleReadAfterACompletedWrite() {
    Result res = assertNotLinearizable(history(
        w(1, 0, 1, "a"),
        w(1, 2, 3, "b"),
        r(2, 4, 5, "a")));
    String d = res.describe();
    assertTrue(d.contains("key k: NOT LINEARIZABLE"), d);
    assertTrue(d.contains("READ k -> \"a\""), d);
    assertTrue(d.contains("WRITE k \"b\""), d);
  }

  @Test
  void readOfAValueNeverWritten() {
    Result res = assertNotLinearizable(history(w(1, 0, 1, "a"), r(2, 2, 3, "zzz")));
    assertTrue(res.describe().contains("no operation ever wrote that value"), res.describe());
    // written to another key
    res = assertNotLinearizable(history(Operation.write(1, "other", "a", 0, 1), r(2, 2, 3, "a")));
    assertTrue(res.describe().contains("written to key other"), res.describe());
    // written by an operation reported as definitely not applied
    res = assertNotLinearizable(history(
        Operation.failed(1, Kind.WRITE, K, null, "a", 0, 1, "INVALID_ARGUMENT"), r(2, 2, 3, "a")));
    assertTrue(res.describe().contains("reported FAILED"), res.describe());
  }

  @Test
  void readOfAValueWrittenLater() {
    assertNotLinearizable(history(r(2, 0, 1, "a"), w(1, 2, 3, "a")));
    assertNotLinearizable(history(r(2, 0, 1, "a"), unknownWrite(1, 2, "a")));
  }

  @Test
  void twoCasSucceedingFromTheSameExpectedValue() {
    assertNotLinearizable(history(
        w(1, 0, 1, "a"),
        cas(2, 2, 6, "a", "b", true),
        cas(3, 3, 5, "a", "c", true)));
    assertNotLinearizable(history(
        cas(2, 2, 6, null, "b", true),
        cas(3, 3, 5, null, "c", true)));
  }

  @Test
  void failedCasWhileTheExpectedValueWasCurrent() {
    assertNotLinearizable(history(w(1, 0, 1, "a"), cas(2, 2, 3, "a", "b", false), r(1, 4, 5, "a")));
  }

  @Test
  void readGoingBackInTime() {
    // concurrent writes of a and b; once a later read saw b, a subsequent one cannot see a
    Result res = assertNotLinearizable(history(
        w(1, 0, 10, "a"),
        w(2, 0, 10, "b"),
        r(3, 11, 12, "b"),
        r(4, 13, 14, "a")));
    assertTrue(res.describe().contains("READ k -> \"a\""), res.describe());
    // ... nor the initial absence, even while the write is still running
    assertNotLinearizable(history(w(1, 0, 10, "a"), r(3, 2, 3, "a"), r(4, 4, 5, null)));
  }

  @Test
  void duplicateValuesAreRejectedUpFront() {
    assertThrows(IllegalArgumentException.class, () -> LinearizabilityChecker.check(history(
        w(1, 0, 1, "a"), w(2, 2, 3, "a"))));
  }

  @Test
  void exhaustedBudgetIsInconclusiveNotOk() {
    History h = RegisterSimulation.generate(7, new RegisterSimulation.Shape(8, 1, 400, 0.05, 0.01, 3, 10));
    assertTrue(LinearizabilityChecker.check(h).ok());
    Result res = LinearizabilityChecker.check(h, new Budget(50, 1_000_000));
    assertTrue(res.inconclusive(), res::describe);
    assertFalse(res.ok());
    assertTrue(res.describe().contains("INCONCLUSIVE"), res.describe());
  }

  // ---- generated -----------------------------------------------------------------------------

  @Test
  void generatedLinearizableHistoriesAreAccepted() {
    RegisterSimulation.Shape[] shapes = {
        new RegisterSimulation.Shape(3, 1, 60, 0.0, 0.0, 3, 6),
        new RegisterSimulation.Shape(5, 2, 300, 0.05, 0.02, 4, 10),
        new RegisterSimulation.Shape(8, 3, 400, 0.1, 0.02, 2, 20), // heavy overlap
        new RegisterSimulation.Shape(8, 1, 300, 0.2, 0.0, 1, 15), // one hot key, many unknowns
        new RegisterSimulation.Shape(5, 2, 300, 0.05, 0.02, 4, 10, true),
        new RegisterSimulation.Shape(8, 1, 300, 0.2, 0.0, 1, 15, true),
    };
    int n = 0;
    for (long seed = 1; seed <= 180; seed++) {
      RegisterSimulation.Shape shape = shapes[(int) (seed % shapes.length)];
      History h = RegisterSimulation.generate(seed, shape);
      Result res = LinearizabilityChecker.check(h);
      long s = seed;
      assertTrue(res.ok(), () -> "seed " + s + " " + shape + ": " + res.describe() + "\nhistory:\n" + h.dump());
      n++;
    }
    assertEquals(180, n);
  }

  @Test
  void generatedStaleReadsAreRejected() {
    RegisterSimulation.Shape[] shapes = {
        new RegisterSimulation.Shape(3, 1, 60, 0.0, 0.0, 3, 6),
        new RegisterSimulation.Shape(5, 2, 300, 0.05, 0.02, 4, 10),
        new RegisterSimulation.Shape(8, 3, 400, 0.1, 0.02, 2, 20),
        new RegisterSimulation.Shape(8, 1, 300, 0.2, 0.0, 1, 15),
        new RegisterSimulation.Shape(5, 2, 300, 0.05, 0.02, 4, 10, true),
        new RegisterSimulation.Shape(8, 1, 300, 0.2, 0.0, 1, 15, true),
    };
    int mutated = 0;
    for (long seed = 1; seed <= 180; seed++) {
      RegisterSimulation.Shape shape = shapes[(int) (seed % shapes.length)];
      History h = RegisterSimulation.generate(seed, shape);
      RegisterSimulation.Mutation m = RegisterSimulation.staleRead(h, new Random(seed));
      if (m == null) continue;
      mutated++;
      Result res = LinearizabilityChecker.check(m.history());
      long s = seed;
      assertEquals(Result.Verdict.NOT_LINEARIZABLE, res.verdict(), () -> "seed " + s + " " + shape + ": read "
          + m.read() + " made to return " + m.staleValue() + " (overwritten by " + m.overwrite() + ")\n"
          + res.describe());
      assertTrue(res.describe().contains("key " + m.read().key() + ": NOT LINEARIZABLE"), res::describe);
    }
    assertTrue(mutated >= 170, "only " + mutated + " histories could be mutated");
  }

  @Test
  void agreesWithBruteForceOnSmallRandomHistories() {
    // arbitrary (mostly non-linearizable) histories of up to 7 operations on one key, with UNKNOWN
    // and FAILED outcomes, compared with the definition executed by brute force
    Random rnd = new Random(Long.getLong("bruteForce.seed", 42));
    int linearizable = 0;
    int total = Integer.getInteger("bruteForce.histories", 30_000);
    for (int t = 0; t < total; t++) {
      History h = new History();
      List<String> written = new ArrayList<>();
      int n = 1 + rnd.nextInt(7);
      double unknown = t % 2 == 0 ? 0.2 : 0.5;
      for (int i = 0; i < n; i++) {
        long inv = rnd.nextInt(12);
        long resp = inv + rnd.nextInt(6);
        int c = rnd.nextInt(4);
        int kind = rnd.nextInt(3);
        double q = rnd.nextDouble();
        var outcome = q < unknown ? Operation.Outcome.UNKNOWN : q < unknown + 0.1 ? Operation.Outcome.FAILED : Operation.Outcome.OK;
        String value = kind == 0 ? null : "v" + i;
        String expected = kind == 2 ? pick(rnd, written) : null;
        String output = kind == 0 && outcome == Operation.Outcome.OK ? pick(rnd, written) : null;
        boolean succeeded = kind == 2 && outcome == Operation.Outcome.OK && rnd.nextBoolean();
        if (value != null) written.add(value);
        Kind k = Kind.values()[kind];
        h.add(new Operation(-1, c, k, K, value, expected, inv,
            outcome == Operation.Outcome.UNKNOWN ? Operation.NEVER : resp, outcome, output, succeeded, null));
      }
      boolean expected = BruteForce.linearizable(h);
      Result res = LinearizabilityChecker.check(h);
      if (expected) linearizable++;
      assertEquals(expected, res.ok(), () -> "brute force says " + expected + ", checker: " + res.describe()
          + "\nhistory:\n" + h.dump());
    }
    // both verdicts well represented
    System.out.println("brute force: " + linearizable + " of " + total + " random histories linearizable");
    assertTrue(linearizable > total / 10 && linearizable < total * 9 / 10, "linearizable: " + linearizable);
  }

  /** A value of {@code written} (possibly one written later, or never applied) or null (absent). */
  private static String pick(Random rnd, List<String> written) {
    int i = rnd.nextInt(written.size() + 2);
    return i < written.size() ? written.get(i) : i == written.size() ? null : "v" + (10 + rnd.nextInt(3));
  }

  @Test
  void workloadSizedHistoriesAreFast() {
    // the sizes the cluster tests produce: ~5000 operations, 8 clients, 4-8 keys, some unknowns
    for (int keys : new int[] {4, 8}) {
      for (long seed = 1; seed <= 3; seed++) {
        History h = RegisterSimulation.generate(seed, new RegisterSimulation.Shape(8, keys, 5000, 0.03, 0.01, 2, 12));
        long t = System.nanoTime();
        Result res = LinearizabilityChecker.check(h);
        long ms = (System.nanoTime() - t) / 1_000_000;
        assertTrue(res.ok(), res::describe);
        RegisterSimulation.Mutation m = RegisterSimulation.staleRead(h, new Random(seed));
        t = System.nanoTime();
        Result bad = LinearizabilityChecker.check(m.history());
        long badMs = (System.nanoTime() - t) / 1_000_000;
        assertEquals(Result.Verdict.NOT_LINEARIZABLE, bad.verdict(), bad::describe);
        System.out.printf("keys=%d seed=%d: %s accepted in %d ms; mutated rejected in %d ms (%s)%n", keys, seed,
            h.counts(), ms, badMs, bad.keys().stream().mapToLong(LinearizabilityChecker.KeyResult::steps).sum() + " steps");
      }
    }
    // a single hot key with all of it
    History h = RegisterSimulation.generate(11, new RegisterSimulation.Shape(8, 1, 3000, 0.03, 0.01, 2, 12));
    Result res = LinearizabilityChecker.check(h);
    assertTrue(res.ok(), res::describe);
    System.out.println("1 key: " + res.describe().lines().findFirst().orElse(""));
  }
}
