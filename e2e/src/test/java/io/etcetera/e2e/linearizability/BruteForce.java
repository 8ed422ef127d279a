package io.etcetera.e2e.linearizability;

import io.etcetera.e2e.linearizability.Operation.Kind;
import io.etcetera.e2e.linearizability.Operation.Outcome;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The definition, executed: tries every subset of the UNKNOWN writes/CASes and every order of the
 * operations consistent with real time. Exponential; for cross-checking {@link
 * LinearizabilityChecker} on histories of a handful of operations on one key.
 */
final class BruteForce {

  private BruteForce() {}

  static boolean linearizable(History h) {
    List<Operation> must = new ArrayList<>();
    List<Operation> maybe = new ArrayList<>();
    for (Operation o : h.operations()) {
      if (o.outcome() == Outcome.FAILED) continue;
      if (o.outcome() == Outcome.UNKNOWN) {
        if (o.kind() != Kind.READ) maybe.add(o);
      } else {
        must.add(o);
      }
    }
    for (int subset = 0; subset < (1 << maybe.size()); subset++) {
      List<Operation> ops = new ArrayList<>(must);
      for (int b = 0; b < maybe.size(); b++) if ((subset & (1 << b)) != 0) ops.add(maybe.get(b));
      if (order(ops, new boolean[ops.size()], 0, null, new ArrayList<>())) return true;
    }
    return false;
  }

  private static boolean order(List<Operation> ops, boolean[] done, int count, String state, List<Operation> prefix) {
    if (count == ops.size()) return true;
    for (int i = 0; i < ops.size(); i++) {
      if (done[i]) continue;
      Operation o = ops.get(i);
      // every operation not yet placed must not have returned before o was invoked
      boolean ok = true;
      for (int j = 0; j < ops.size() && ok; j++) {
        if (j != i && !done[j] && ops.get(j).responseNanos() < o.invokeNanos()) ok = false;
      }
      if (!ok) continue;
      String next;
      boolean holds = Objects.equals(state, o.expected());
      switch (o.kind()) {
        case READ -> {
          if (!Objects.equals(state, o.output())) continue;
          next = state;
        }
        case WRITE -> next = o.value();
        default -> {
          if (o.outcome() == Outcome.OK && holds != o.succeeded()) continue;
          next = holds ? o.value() : state;
        }
      }
      done[i] = true;
      boolean found = order(ops, done, count + 1, next, prefix);
      done[i] = false;
      if (found) return true;
    }
    return false;
  }
}
