package io.etcetera.e2e.linearizability;

import io.etcetera.e2e.linearizability.Operation.Kind;
import io.etcetera.e2e.linearizability.Operation.Outcome;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A concurrent history: the operations several clients issued on a few keys, in the order they were
 * recorded. Thread-safe; {@link #add} numbers the operations 0, 1, 2...
 *
 * <p>Every key starts absent (the workload uses a fresh key prefix per run), and every value
 * written (WRITE, or CAS new value) must be unique in the history; {@link LinearizabilityChecker}
 * relies on both.
 *
 * <pre>{@code
 * History h = new History();
 * h.add(Operation.write(1, "k", "a", 0, 10));
 * h.add(Operation.read(2, "k", 5, 12, "a"));
 * LinearizabilityChecker.check(h).ok();
 * }</pre>
 */
public final class History {

  private final List<Operation> ops = new ArrayList<>();

  /** Records {@code op} (numbered with the next id) and returns the numbered operation. */
  public synchronized Operation add(Operation op) {
    Operation numbered = op.withId(ops.size());
    ops.add(numbered);
    return numbered;
  }

  /** A snapshot of the operations, by id. */
  public synchronized List<Operation> operations() {
    return List.copyOf(ops);
  }

  public synchronized int size() {
    return ops.size();
  }

  /** The keys the operations touched, sorted. */
  public synchronized List<String> keys() {
    TreeSet<String> keys = new TreeSet<>();
    for (Operation o : ops) keys.add(o.key());
    return List.copyOf(keys);
  }

  /** The earliest invocation time (0 for an empty history): the origin for printed times. */
  public synchronized long origin() {
    long t0 = Long.MAX_VALUE;
    for (Operation o : ops) t0 = Math.min(t0, o.invokeNanos());
    return ops.isEmpty() ? 0 : t0;
  }

  /** How many operations ended how. */
  public record Counts(int ok, int failed, int unknown, int okReads, int okWrites, int casSucceeded,
      int casCompareFailed) {
    public int total() {
      return ok + failed + unknown;
    }

    @Override
    public String toString() {
      return total() + " ops: " + ok + " ok (" + okReads + " reads, " + okWrites + " writes, " + casSucceeded
          + " CAS succeeded, " + casCompareFailed + " CAS compare failed), " + failed + " failed, " + unknown
          + " unknown";
    }
  }

  public synchronized Counts counts() {
    int ok = 0, failed = 0, unknown = 0, reads = 0, writes = 0, casOk = 0, casNo = 0;
    for (Operation o : ops) {
      switch (o.outcome()) {
        case FAILED -> failed++;
        case UNKNOWN -> unknown++;
        case OK -> {
          ok++;
          if (o.kind() == Kind.READ) reads++;
          else if (o.kind() == Kind.WRITE) writes++;
          else if (o.succeeded()) casOk++;
          else casNo++;
        }
      }
    }
    return new Counts(ok, failed, unknown, reads, writes, casOk, casNo);
  }

  /**
   * The errors of FAILED and UNKNOWN operations, with how often each occurred (numbers in the
   * messages, e.g. gRPC's "deadline exceeded after 2.999925894s", are replaced by {@code #} so alike
   * errors count together).
   */
  public synchronized Map<String, Integer> errors() {
    Map<String, Integer> out = new TreeMap<>();
    for (Operation o : ops) {
      if (o.outcome() == Outcome.OK) continue;
      String e = String.valueOf(o.error()).replaceAll("[0-9]+", "#");
      out.merge(o.outcome() + " " + e, 1, Integer::sum);
    }
    return out;
  }

  /** One line per operation (by id), times relative to {@link #origin()}: for keeping next to member logs. */
  public synchronized String dump() {
    long t0 = origin();
    StringBuilder sb = new StringBuilder();
    for (Operation o : ops) sb.append(o.describe(t0)).append('\n');
    return sb.toString();
  }

  /** Writes {@link #dump()} to {@code file}. */
  public void writeTo(Path file) {
    try {
      Files.writeString(file, dump());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String toString() {
    return "History(" + counts() + ")";
  }
}
