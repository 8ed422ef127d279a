package io.etcetera.e2e.linearizability;

import java.util.Objects;

/**
 * One operation of a {@link History} on a single key: who issued it, when (the client's {@link
 * System#nanoTime()} just before sending and just after the answer), what it asked for and what came
 * back.
 *
 * <ul>
 *   <li>{@link Kind#READ}: a linearizable Range of {@link #key}; {@link #output} is the value read,
 *       {@code null} if the key was absent.
 *   <li>{@link Kind#WRITE}: a Put of {@link #value}.
 *   <li>{@link Kind#CAS}: a Txn {@code if value(key) == expected then put(key, value)}; {@link
 *       #expected} {@code null} means "if the key is absent" (compare {@code create_revision == 0}).
 *       {@link #succeeded} tells whether the comparison held (and the put was applied).
 * </ul>
 *
 * <p>Outcomes: {@link Outcome#OK} (the answer is known), {@link Outcome#FAILED} (the server
 * rejected it in a way that guarantees it had no effect), {@link Outcome#UNKNOWN} (timeout, lost
 * connection...: it may or may not have taken effect, at any time after {@link #invokeNanos}; its
 * {@link #responseNanos} is {@link #NEVER}). Written values must be unique in a history (the
 * workload writes {@code c<client>-<counter>}).
 *
 * <p>Operations are created with the factories below (id {@code -1}) and numbered by {@link
 * History#add}.
 */
public record Operation(
    int id,
    int client,
    Kind kind,
    String key,
    String value,
    String expected,
    long invokeNanos,
    long responseNanos,
    Outcome outcome,
    String output,
    boolean succeeded,
    String error) {

  /** The response time of an {@link Outcome#UNKNOWN} operation: it never (observably) returned. */
  public static final long NEVER = Long.MAX_VALUE;

  public enum Kind { READ, WRITE, CAS }

  public enum Outcome { OK, FAILED, UNKNOWN }

  public Operation {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(outcome, "outcome");
    if (kind != Kind.READ && value == null) throw new IllegalArgumentException(kind + " needs a value");
    if (kind == Kind.READ && value != null) throw new IllegalArgumentException("a READ writes no value");
    if (kind != Kind.CAS && expected != null) throw new IllegalArgumentException("only a CAS has an expected value");
    if (outcome == Outcome.UNKNOWN) {
      if (responseNanos != NEVER) throw new IllegalArgumentException("an UNKNOWN operation never returns");
    } else if (responseNanos < invokeNanos || responseNanos == NEVER) {
      throw new IllegalArgumentException("response " + responseNanos + " before invocation " + invokeNanos);
    }
    if (outcome != Outcome.OK && (output != null || succeeded)) {
      throw new IllegalArgumentException("only an OK operation has an output");
    }
    if (kind != Kind.READ && output != null) throw new IllegalArgumentException("only a READ has an output");
    if (kind != Kind.CAS && succeeded) throw new IllegalArgumentException("only a CAS succeeds");
  }

  /** A READ that returned {@code output} ({@code null}: the key was absent). */
  public static Operation read(int client, String key, long invoke, long response, String output) {
    return new Operation(-1, client, Kind.READ, key, null, null, invoke, response, Outcome.OK, output, false, null);
  }

  /** A WRITE that was acknowledged. */
  public static Operation write(int client, String key, String value, long invoke, long response) {
    return new Operation(-1, client, Kind.WRITE, key, value, null, invoke, response, Outcome.OK, null, false, null);
  }

  /** A CAS {@code expected -> value} that answered {@code succeeded}. */
  public static Operation cas(int client, String key, String expected, String value, long invoke, long response,
      boolean succeeded) {
    return new Operation(-1, client, Kind.CAS, key, value, expected, invoke, response, Outcome.OK, null, succeeded,
        null);
  }

  /** An operation whose fate is unknown (timed out, connection lost...). */
  public static Operation unknown(int client, Kind kind, String key, String expected, String value, long invoke,
      String error) {
    return new Operation(-1, client, kind, key, value, expected, invoke, NEVER, Outcome.UNKNOWN, null, false, error);
  }

  /** An operation the server definitely did not apply. */
  public static Operation failed(int client, Kind kind, String key, String expected, String value, long invoke,
      long response, String error) {
    return new Operation(-1, client, kind, key, value, expected, invoke, response, Outcome.FAILED, null, false,
        error);
  }

  /** The same operation with another id. */
  Operation withId(int newId) {
    return new Operation(newId, client, kind, key, value, expected, invokeNanos, responseNanos, outcome, output,
        succeeded, error);
  }

  /** Whether the operation may have changed the register (a WRITE or CAS that was not FAILED). */
  public boolean mayWrite() {
    return kind != Kind.READ && outcome != Outcome.FAILED;
  }

  @Override
  public String toString() {
    return describe(0);
  }

  /** E.g. {@code #12 c3 CAS k0 "c1-4" -> "c3-9": true [+10.210ms .. +11.002ms]}, times relative to {@code t0}. */
  public String describe(long t0) {
    StringBuilder sb = new StringBuilder();
    sb.append('#').append(id).append(" c").append(client).append(' ').append(kind).append(' ').append(key);
    switch (kind) {
      case READ -> {
        if (outcome == Outcome.OK) sb.append(" -> ").append(quote(output));
      }
      case WRITE -> sb.append(' ').append(quote(value));
      case CAS -> {
        sb.append(" if ").append(expected == null ? "absent" : quote(expected)).append(" then ").append(quote(value));
        if (outcome == Outcome.OK) sb.append(": ").append(succeeded ? "succeeded" : "compare failed");
      }
    }
    sb.append(" [").append(time(invokeNanos, t0)).append(" .. ")
        .append(responseNanos == NEVER ? "never" : time(responseNanos, t0)).append(']');
    if (outcome != Outcome.OK) sb.append(' ').append(outcome);
    if (error != null) sb.append(" (").append(error).append(')');
    return sb.toString();
  }

  static String quote(String v) {
    return v == null ? "(absent)" : "\"" + v + "\"";
  }

  /**
   * A time relative to {@code t0}: milliseconds for {@link System#nanoTime()} stamps ({@code t0}
   * far from zero), the raw number for the small integers of hand-written histories.
   */
  static String time(long t, long t0) {
    if (Math.abs(t0) < 1_000_000_000L) return Long.toString(t - t0);
    return String.format("+%.3fms", (t - t0) / 1e6);
  }
}
