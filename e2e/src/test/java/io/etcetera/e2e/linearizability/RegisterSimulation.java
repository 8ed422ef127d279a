package io.etcetera.e2e.linearizability;

import io.etcetera.e2e.linearizability.Operation.Kind;
import io.etcetera.e2e.linearizability.Operation.Outcome;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Generates histories that are linearizable by construction (for {@link LinearizabilityCheckerTest}):
 * simulated clients issue operations on in-memory registers; every operation takes effect at a
 * random instant between its invocation and its response, and its output is what the register
 * held at that instant. Some writes / CASes end UNKNOWN (applied or not, at random) or FAILED (not
 * applied). Times are small integers.
 */
final class RegisterSimulation {

  /**
   * Shape of a generated history. {@code adversarialCas}: a CAS expects the register's current value
   * half of the time and otherwise any older value (also ones no client ever saw, e.g. written by an
   * UNKNOWN write); otherwise it expects what its client last observed of the key, as {@link
   * LinearizabilityWorkload} does.
   */
  record Shape(int clients, int keys, int operations, double unknown, double failed, int maxGap, int maxLatency,
      boolean adversarialCas) {
    Shape(int clients, int keys, int operations, double unknown, double failed, int maxGap, int maxLatency) {
      this(clients, keys, operations, unknown, failed, maxGap, maxLatency, false);
    }
  }

  private RegisterSimulation() {}

  private record Planned(int client, Kind kind, String key, long invoke, long at, long response, Outcome outcome,
      boolean applies, String value) {}

  static History generate(long seed, Shape s) {
    Random rnd = new Random(seed);
    List<Planned> planned = new ArrayList<>();
    long[] free = new long[s.clients()];
    int[] counter = new int[s.clients()];
    for (int c = 0; c < s.clients(); c++) free[c] = rnd.nextInt(s.maxGap() + 1);
    for (int k = 0; k < s.operations(); k++) {
      int c = k % s.clients();
      long invoke = free[c] + rnd.nextInt(s.maxGap() + 1);
      long at = invoke + rnd.nextInt(s.maxLatency() + 1);
      long response = at + rnd.nextInt(s.maxLatency() + 1);
      double p = rnd.nextDouble();
      Kind kind = p < 0.4 ? Kind.READ : p < 0.7 ? Kind.WRITE : Kind.CAS;
      String key = "k" + rnd.nextInt(s.keys());
      double q = rnd.nextDouble();
      Outcome outcome = q < s.unknown() ? Outcome.UNKNOWN : q < s.unknown() + s.failed() ? Outcome.FAILED : Outcome.OK;
      boolean applies = outcome == Outcome.OK || (outcome == Outcome.UNKNOWN && rnd.nextBoolean());
      String value = kind == Kind.READ ? null : "c" + c + "-" + (++counter[c]);
      planned.add(new Planned(c, kind, key, invoke, at, response, outcome, applies, value));
      // after an UNKNOWN operation the client gives up at its "response" and goes on
      free[c] = response;
    }
    // apply in the order the operations take effect
    List<Planned> byEffect = new ArrayList<>(planned);
    byEffect.sort(Comparator.comparingLong(Planned::at));
    Map<String, String> register = new HashMap<>();
    Map<String, String> lastSeen = new HashMap<>(); // client + "/" + key -> value it last observed
    Map<String, List<String>> written = new HashMap<>();
    List<Operation> ops = new ArrayList<>();
    for (Planned pl : byEffect) {
      String current = register.get(pl.key());
      long response = pl.outcome() == Outcome.UNKNOWN ? Operation.NEVER : pl.response();
      String err = pl.outcome() == Outcome.OK ? null : "simulated";
      String seenKey = pl.client() + "/" + pl.key();
      boolean ok = pl.outcome() == Outcome.OK;
      switch (pl.kind()) {
        case READ -> {
          if (ok) lastSeen.put(seenKey, current);
          ops.add(ok
              ? Operation.read(pl.client(), pl.key(), pl.invoke(), response, current)
              : new Operation(-1, pl.client(), Kind.READ, pl.key(), null, null, pl.invoke(), response, pl.outcome(),
                  null, false, err));
        }
        case WRITE -> {
          if (pl.applies()) set(register, written, pl.key(), pl.value());
          if (ok) lastSeen.put(seenKey, pl.value());
          ops.add(pl.outcome() == Outcome.OK
              ? Operation.write(pl.client(), pl.key(), pl.value(), pl.invoke(), response)
              : new Operation(-1, pl.client(), Kind.WRITE, pl.key(), pl.value(), null, pl.invoke(), response,
                  pl.outcome(), null, false, err));
        }
        case CAS -> {
          String expected;
          if (s.adversarialCas()) {
            // the current value half of the time, otherwise an older one (or absent)
            List<String> older = written.getOrDefault(pl.key(), List.of());
            expected = rnd.nextBoolean() || older.isEmpty() ? current
                : rnd.nextInt(4) == 0 ? null : older.get(rnd.nextInt(older.size()));
          } else {
            expected = lastSeen.get(seenKey);
          }
          boolean holds = expected == null ? current == null : expected.equals(current);
          if (pl.applies() && holds) set(register, written, pl.key(), pl.value());
          if (ok && holds) lastSeen.put(seenKey, pl.value());
          ops.add(pl.outcome() == Outcome.OK
              ? Operation.cas(pl.client(), pl.key(), expected, pl.value(), pl.invoke(), response, holds)
              : new Operation(-1, pl.client(), Kind.CAS, pl.key(), pl.value(), expected, pl.invoke(), response,
                  pl.outcome(), null, false, err));
        }
      }
    }
    // record in invocation order, as a real recorder roughly would
    ops.sort(Comparator.comparingLong(Operation::invokeNanos));
    History h = new History();
    for (Operation o : ops) h.add(o);
    return h;
  }

  private static void set(Map<String, String> register, Map<String, List<String>> written, String key, String v) {
    register.put(key, v);
    written.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
  }

  /**
   * A copy of {@code h} in which one OK read returns an older value, chosen so that the result is
   * certainly not linearizable: the older value {@code o} (or "absent") was written by an OK write
   * (or successful CAS) that returned before another OK write / successful CAS of the same key was
   * invoked, which in turn returned before the read was invoked. Every linearization must order the
   * three that way, and as values are unique nothing writes {@code o} again, so the read cannot see
   * it. Returns null if the history has no such read.
   */
  static Mutation staleRead(History h, Random rnd) {
    List<Operation> ops = h.operations();
    List<Operation> reads = new ArrayList<>();
    for (Operation r : ops) if (r.kind() == Kind.READ && r.outcome() == Outcome.OK) reads.add(r);
    java.util.Collections.shuffle(reads, rnd);
    for (Operation r : reads) {
      // definite writes of r's key that returned before r was invoked; the one invoked last is "later"
      Operation later = null;
      List<Operation> definite = new ArrayList<>();
      for (Operation w : ops) {
        if (w.key().equals(r.key()) && w.outcome() == Outcome.OK && w.responseNanos() < r.invokeNanos()
            && (w.kind() == Kind.WRITE || (w.kind() == Kind.CAS && w.succeeded()))) {
          definite.add(w);
          if (later == null || w.invokeNanos() > later.invokeNanos()) later = w;
        }
      }
      if (later == null) continue;
      List<Operation> olders = new ArrayList<>();
      for (Operation w : definite) if (w.responseNanos() < later.invokeNanos()) olders.add(w);
      int options = olders.size() + (r.output() != null ? 1 : 0); // "absent" is older than any write
      if (options == 0) continue;
      int pick = rnd.nextInt(options);
      Operation older = pick < olders.size() ? olders.get(pick) : null;
      String stale = older == null ? null : older.value();
      History out = new History();
      for (Operation o : ops) {
        out.add(o == r ? Operation.read(o.client(), o.key(), o.invokeNanos(), o.responseNanos(), stale) : o);
      }
      return new Mutation(r, stale, later, older, out);
    }
    return null;
  }

  /** A mutated history: {@code read} now returns {@code staleValue}, overwritten by {@code overwrite}. */
  record Mutation(Operation read, String staleValue, Operation overwrite, Operation olderWrite, History history) {}
}
