package io.etcetera.e2e.linearizability;

import io.etcetera.e2e.linearizability.Operation.Kind;
import io.etcetera.e2e.linearizability.Operation.Outcome;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Checks that a {@link History} of READ / WRITE / CAS operations on independent registers (one per
 * key, each initially absent) is linearizable: that there is one total order of the operations,
 * consistent with real time (an operation that returned before another was invoked comes first),
 * in which every operation sees exactly the effect of those before it.
 *
 * <h2>Algorithm</h2>
 *
 * Keys are independent registers, so the history is split per key (linearizability is
 * compositional) and each key is searched separately, Wing &amp; Gong style with Lowe's / porcupine's
 * memoization: the invocation and response events of the key's operations form a time-ordered
 * doubly linked list; a depth-first search repeatedly "linearizes" one of the operations invoked
 * before the first pending response (removing its two events), backtracking when that response is
 * reached with its operation still unlinearized. Every visited (set of linearized operations,
 * register value) pair is remembered (Zobrist-hashed bitset), so no configuration is explored twice:
 * the cost is bounded by the number of distinct configurations, which for a register with unique
 * values is roughly (operations) x 2^(concurrently pending operations) in the worst case and close to
 * linear in practice.
 *
 * <p>Outcomes: FAILED operations are dropped (they had no effect) and so are UNKNOWN reads (no
 * information). An UNKNOWN WRITE or CAS may take effect at any time after its invocation, or never;
 * the search succeeds once every operation that returned is linearized. Timed-out writes pile up
 * during a partition or a crash and each one stays pending forever, so they get special care (all
 * of it exact: a history is accepted iff it is linearizable, cross-checked against a brute-force
 * search in the unit test):
 *
 * <ul>
 *   <li>As values are unique, an UNKNOWN write/CAS whose value an OK operation observed (a read of
 *       it, a CAS that succeeded expecting it) certainly took effect before the first such observer
 *       returned: it becomes an ordinary operation with that response time (as etcd's robustness
 *       tests do; applied to a fixpoint through CAS chains).
 *   <li>Values that no operation observes or expects are interchangeable for the model and share one
 *       abstract value; UNKNOWN writes of such values are then interchangeable too and are only tried
 *       in invocation order (likewise UNKNOWN CASes of such values expecting the same value).
 *   <li>An UNKNOWN operation is only linearized where it changes the register, and only right before
 *       an operation that would be impossible without it (otherwise it can be moved later or left out
 *       without loss).
 *   <li>The memo ignores which UNKNOWN operations were used, up to inclusion: a configuration that
 *       used a superset of the UNKNOWN operations of an explored one (same linearized completed
 *       operations, same register value) has fewer options and is skipped.
 * </ul>
 *
 * <h2>Budget</h2>
 *
 * The search per key stops after {@link Budget#steps()} candidate evaluations or {@link
 * Budget#states()} memoized configurations and then reports {@link Result.Verdict#INCONCLUSIVE}
 * (which is not {@link Result#ok()}). A linearizable history of a few thousand operations over 4-8
 * keys with ~8 clients typically takes a few thousand steps per key and tens of milliseconds; a
 * violation in such a history is usually found within a second (see LinearizabilityCheckerTest).
 */
public final class LinearizabilityChecker {

  /** Search limits per key. */
  public record Budget(long steps, int states) {
    /**
     * 50 million candidate evaluations (a few seconds) or 2 million memoized states; the states are
     * further capped so that their bitsets stay within {@link #MEMO_WORDS} longs (~200 MB) per key.
     */
    public static final Budget DEFAULT = new Budget(50_000_000L, 2_000_000);

    /** The memo's size limit in 64-bit words per key, whatever {@link #states()} says. */
    public static final long MEMO_WORDS = 25_000_000L;
  }

  private LinearizabilityChecker() {}

  /** {@link #check(History, Budget)} with {@link Budget#DEFAULT}. */
  public static Result check(History history) {
    return check(history, Budget.DEFAULT);
  }

  /**
   * Checks every key of {@code history}.
   *
   * @throws IllegalArgumentException if two operations write the same value
   */
  public static Result check(History history, Budget budget) {
    long started = System.nanoTime();
    List<Operation> all = history.operations();
    long t0 = history.origin();
    Map<String, Operation> writerOf = new HashMap<>();
    for (Operation o : all) {
      if (o.kind() == Kind.READ) continue;
      Operation before = writerOf.putIfAbsent(o.value(), o);
      if (before != null) {
        throw new IllegalArgumentException("written values must be unique: " + before.describe(t0) + " and "
            + o.describe(t0));
      }
    }
    Map<String, List<Operation>> byKey = new TreeMap<>();
    for (Operation o : all) byKey.computeIfAbsent(o.key(), k -> new ArrayList<>()).add(o);
    List<KeyResult> results = new ArrayList<>();
    for (Map.Entry<String, List<Operation>> e : byKey.entrySet()) {
      results.add(new KeySearch(e.getKey(), e.getValue(), writerOf, budget, t0).run());
    }
    return new Result(results, all.size(), history.counts(), (System.nanoTime() - started) / 1_000_000);
  }

  /** The verdict for one key. */
  public record KeyResult(String key, Result.Verdict verdict, int operations, long steps, int states,
      String explanation, List<Operation> involved) {}

  /** The verdict for a history: {@link #ok()} only if every key is linearizable. */
  public static final class Result {

    public enum Verdict { LINEARIZABLE, NOT_LINEARIZABLE, INCONCLUSIVE }

    private final List<KeyResult> keys;
    private final Verdict verdict;
    private final int operations;
    private final History.Counts counts;
    private final long millis;

    Result(List<KeyResult> keys, int operations, History.Counts counts, long millis) {
      this.keys = List.copyOf(keys);
      this.operations = operations;
      this.counts = counts;
      this.millis = millis;
      Verdict v = Verdict.LINEARIZABLE;
      for (KeyResult k : keys) {
        if (k.verdict() == Verdict.NOT_LINEARIZABLE) v = Verdict.NOT_LINEARIZABLE;
        else if (k.verdict() == Verdict.INCONCLUSIVE && v == Verdict.LINEARIZABLE) v = Verdict.INCONCLUSIVE;
      }
      this.verdict = v;
    }

    /** Whether the history is linearizable (false when not, and when the search was inconclusive). */
    public boolean ok() {
      return verdict == Verdict.LINEARIZABLE;
    }

    public boolean inconclusive() {
      return verdict == Verdict.INCONCLUSIVE;
    }

    public Verdict verdict() {
      return verdict;
    }

    /** Per key, sorted by key. */
    public List<KeyResult> keys() {
      return keys;
    }

    /** The operations of the counterexample(s) (empty when linearizable). */
    public List<Operation> involved() {
      List<Operation> out = new ArrayList<>();
      for (KeyResult k : keys) out.addAll(k.involved());
      return out;
    }

    /** A summary, and for every key that is not linearizable (or not decided) the operations involved. */
    public String describe() {
      StringBuilder sb = new StringBuilder();
      sb.append(switch (verdict) {
        case LINEARIZABLE -> "linearizable";
        case NOT_LINEARIZABLE -> "NOT LINEARIZABLE";
        case INCONCLUSIVE -> "INCONCLUSIVE (search budget exhausted; treat as a failure)";
      });
      sb.append(": ").append(counts).append(" on ").append(keys.size()).append(" keys, checked in ").append(millis)
          .append(" ms\n");
      for (KeyResult k : keys) {
        sb.append("  key ").append(k.key()).append(": ").append(k.verdict()).append(" (").append(k.operations())
            .append(" ops, ").append(k.steps()).append(" steps, ").append(k.states()).append(" states)\n");
      }
      for (KeyResult k : keys) {
        if (k.verdict() != Verdict.LINEARIZABLE) sb.append('\n').append(k.explanation());
      }
      return sb.toString();
    }

    @Override
    public String toString() {
      return describe();
    }
  }

  // ------------------------------------------------------------------------------------------------

  /** The search over one key's operations. */
  private static final class KeySearch {
    // internal operation types
    static final byte READ = 0, WRITE = 1, CAS_TRUE = 2, CAS_FALSE = 3, MAYBE_WRITE = 4, MAYBE_CAS = 5;
    static final int ABSENT = 0, UNOBSERVED = 1;
    static final int ILLEGAL = -1;
    /** No justification pending (see {@link #search}). */
    static final int NONE = -2;

    final String key;
    final List<Operation> source;
    final Map<String, Operation> writerOf;
    final Budget budget;
    final long t0;

    // per internal op
    int n;
    Operation[] op;
    byte[] type;
    long[] inv, resp;
    int[] exp, val, out;
    boolean[] open; // UNKNOWN and never observed: may be linearized or not
    int[] group; // open ops only: interchangeability class, or -1
    int[][] groupMembers;
    int[] groupNext;

    // event list: entry 2i = call of op i, 2i+1 = its return; HEAD, TAIL sentinels
    int head, tail;
    int[] next, prev;

    KeySearch(String key, List<Operation> ops, Map<String, Operation> writerOf, Budget budget, long t0) {
      this.key = key;
      this.source = ops;
      this.writerOf = writerOf;
      this.budget = budget;
      this.t0 = t0;
    }

    KeyResult run() {
      KeyResult bad = observationsHaveWriters();
      if (bad != null) return bad;
      prepare();
      buildEvents();
      return search();
    }

    /** Every observed value must have been written to this key by an operation that was not FAILED. */
    KeyResult observationsHaveWriters() {
      for (Operation o : source) {
        if (o.outcome() != Outcome.OK) continue;
        String seen = o.kind() == Kind.READ ? o.output() : o.kind() == Kind.CAS && o.succeeded() ? o.expected() : null;
        if (seen == null) continue;
        Operation w = writerOf.get(seen);
        String why;
        if (w == null) why = "no operation ever wrote that value";
        else if (!w.key().equals(key)) why = "that value was written to key " + w.key() + ", not " + key;
        else if (w.outcome() == Outcome.FAILED) why = "the write of that value was reported FAILED (not applied)";
        else continue;
        List<Operation> involved = w == null ? List.of(o) : List.of(o, w);
        StringBuilder sb = new StringBuilder();
        sb.append("key ").append(key).append(": NOT LINEARIZABLE: an operation observed ").append(Operation.quote(seen))
            .append(" but ").append(why).append(":\n");
        for (Operation i : involved) sb.append("    ").append(i.describe(t0)).append('\n');
        return new KeyResult(key, Result.Verdict.NOT_LINEARIZABLE, source.size(), 0, 0, sb.toString(), involved);
      }
      return null;
    }

    void prepare() {
      List<Operation> kept = new ArrayList<>();
      for (Operation o : source) {
        if (o.outcome() == Outcome.FAILED) continue;
        if (o.outcome() == Outcome.UNKNOWN && o.kind() == Kind.READ) continue;
        kept.add(o);
      }
      // values some operation's behaviour depends on get their own id; all others share UNOBSERVED
      Map<String, Integer> ids = new HashMap<>();
      Map<String, Long> firstObserverReturn = new HashMap<>();
      for (Operation o : kept) {
        String v = null;
        if (o.kind() == Kind.READ) v = o.output();
        else if (o.kind() == Kind.CAS) v = o.expected();
        if (v != null) ids.computeIfAbsent(v, x -> ids.size() + 2);
        if (o.outcome() == Outcome.OK) {
          String seen = o.kind() == Kind.READ ? o.output() : o.kind() == Kind.CAS && o.succeeded() ? o.expected() : null;
          if (seen != null) firstObserverReturn.merge(seen, o.responseNanos(), Math::min);
        }
      }
      // An UNKNOWN write/CAS whose value was observed certainly took effect, before its first observer
      // returned; such a CAS then certainly observed its expected value in turn (to a fixpoint).
      Map<Operation, Long> certain = new HashMap<>();
      for (boolean changed = true; changed; ) {
        changed = false;
        for (Operation o : kept) {
          if (o.outcome() != Outcome.UNKNOWN) continue;
          Long observed = firstObserverReturn.get(o.value());
          if (observed == null) continue;
          long response = Math.max(o.invokeNanos(), observed);
          Long before = certain.put(o, response);
          if (before != null && before == response) continue;
          changed = true;
          if (o.kind() == Kind.CAS && o.expected() != null) firstObserverReturn.merge(o.expected(), response, Math::min);
        }
      }
      n = kept.size();
      op = kept.toArray(new Operation[0]);
      type = new byte[n];
      inv = new long[n];
      resp = new long[n];
      exp = new int[n];
      val = new int[n];
      out = new int[n];
      open = new boolean[n];
      group = new int[n];
      Arrays.fill(group, -1);
      Map<Integer, List<Integer>> groups = new TreeMap<>(); // -1: unobserved writes; e: unobserved CAS expecting e
      for (int i = 0; i < n; i++) {
        Operation o = op[i];
        inv[i] = o.invokeNanos();
        resp[i] = o.responseNanos();
        if (o.kind() != Kind.READ) val[i] = id(ids, o.value());
        if (o.kind() == Kind.CAS) exp[i] = id(ids, o.expected());
        switch (o.kind()) {
          case READ -> {
            type[i] = READ;
            out[i] = id(ids, o.output());
          }
          case WRITE, CAS -> {
            boolean cas = o.kind() == Kind.CAS;
            if (o.outcome() == Outcome.OK) {
              type[i] = !cas ? WRITE : o.succeeded() ? CAS_TRUE : CAS_FALSE;
            } else {
              Long certainBy = certain.get(o);
              if (certainBy != null) {
                type[i] = cas ? CAS_TRUE : WRITE;
                resp[i] = certainBy;
              } else {
                type[i] = cas ? MAYBE_CAS : MAYBE_WRITE;
                open[i] = true;
                if (val[i] == UNOBSERVED) groups.computeIfAbsent(cas ? exp[i] : -1, g -> new ArrayList<>()).add(i);
              }
            }
          }
        }
      }
      groupMembers = new int[groups.size()][];
      groupNext = new int[groups.size()];
      int g = 0;
      for (List<Integer> members : groups.values()) {
        members.sort((a, b) -> a.equals(b) ? 0 : inv[a] != inv[b] ? Long.compare(inv[a], inv[b]) : Integer.compare(a, b));
        groupMembers[g] = members.stream().mapToInt(Integer::intValue).toArray();
        for (int m : groupMembers[g]) group[m] = g;
        g++;
      }
    }

    static int id(Map<String, Integer> ids, String v) {
      if (v == null) return ABSENT;
      Integer i = ids.get(v);
      return i == null ? UNOBSERVED : i;
    }

    void buildEvents() {
      Integer[] events = new Integer[2 * n];
      for (int e = 0; e < 2 * n; e++) events[e] = e;
      // by time; at equal times invocations before responses (such operations overlap)
      Arrays.sort(events, (a, b) -> {
        long ta = time(a), tb = time(b);
        if (ta != tb) return Long.compare(ta, tb);
        if ((a & 1) != (b & 1)) return (a & 1) - (b & 1);
        return Integer.compare(a, b);
      });
      head = 2 * n;
      tail = 2 * n + 1;
      next = new int[2 * n + 2];
      prev = new int[2 * n + 2];
      int last = head;
      for (int e : events) {
        next[last] = e;
        prev[e] = last;
        last = e;
      }
      next[last] = tail;
      prev[tail] = last;
    }

    long time(int event) {
      int i = event >> 1;
      return (event & 1) == 0 ? inv[i] : resp[i];
    }

    void lift(int i) {
      int c = 2 * i, r = 2 * i + 1;
      next[prev[c]] = next[c];
      prev[next[c]] = prev[c];
      next[prev[r]] = next[r];
      prev[next[r]] = prev[r];
    }

    void unlift(int i) {
      int c = 2 * i, r = 2 * i + 1;
      next[prev[r]] = r;
      prev[next[r]] = r;
      next[prev[c]] = c;
      prev[next[c]] = c;
    }

    /** The register value after linearizing op {@code i} in {@code state}, or ILLEGAL (also: a pointless no-op). */
    int step(int i, int state) {
      return switch (type[i]) {
        case READ -> state == out[i] ? state : ILLEGAL;
        case WRITE -> val[i];
        case CAS_TRUE -> state == exp[i] ? val[i] : ILLEGAL;
        case CAS_FALSE -> state != exp[i] ? state : ILLEGAL;
        // an UNKNOWN op that would not change the register is as good as never applied
        case MAYBE_WRITE -> state != val[i] ? val[i] : ILLEGAL;
        case MAYBE_CAS -> state == exp[i] && state != val[i] ? val[i] : ILLEGAL;
        default -> throw new IllegalStateException();
      };
    }

    /** A memoized configuration. */
    static final class Node {
      final long[] bits;
      final int state;
      final int justify;
      final int hash;

      Node(long[] bits, int state, int justify, int hash) {
        this.bits = bits;
        this.state = state;
        this.justify = justify;
        this.hash = hash;
      }

      @Override
      public int hashCode() {
        return hash;
      }

      @Override
      public boolean equals(Object o) {
        return o instanceof Node other && other.hash == hash && other.state == state
            && other.justify == justify && Arrays.equals(other.bits, bits);
      }
    }

    KeyResult search() {
      // numbering of the open UNKNOWN operations, for the "which of them were used" bitset
      int[] openIndex = new int[n];
      int nOpen = 0;
      for (int i = 0; i < n; i++) openIndex[i] = open[i] ? nOpen++ : -1;
      long[] zobrist = new long[n];
      SplittableRandom rnd = new SplittableRandom(0x5eed ^ n);
      for (int i = 0; i < n; i++) zobrist[i] = rnd.nextLong();
      long[] bits = new long[Math.max(1, (n + 63) / 64)]; // linearized operations that must be linearized
      long[] used = new long[Math.max(1, (nOpen + 63) / 64)]; // linearized open UNKNOWN operations
      long zob = 0;
      long maxStates = Math.min(budget.states(), Math.max(10_000, Budget.MEMO_WORDS / (bits.length + used.length)));
      // Memo: (linearized ops, register value, justify) -> the sets of open UNKNOWN ops used to get
      // there that have been (or are being) explored. A configuration that used a superset of one of
      // those is dominated (the open ops are optional, so fewer used = at least as many options) and
      // is skipped.
      Map<Node, List<long[]>> seen = new HashMap<>();
      int states = 0;
      int[] stackOp = new int[n];
      int[] stackState = new int[n];
      int[] stackCand = new int[n];
      int[] stackJustify = new int[n];
      int depth = 0;
      int state = ABSENT;
      // After an UNKNOWN operation U is linearized in state s, the next operation must be one that
      // is impossible (or would change nothing) in s: otherwise it would do the same without U (a
      // write overwrites U's effect: U "never happened" is at least as good; a failed CAS possible
      // in both states commutes with U). Every linearization can be rearranged into that form, and it
      // stops the search from trying every timed-out write at every point. justify = that s, or NONE.
      int justify = NONE;
      int remaining = 0; // operations that must be linearized (all but the open UNKNOWN ones)
      for (int i = 0; i < n; i++) if (!open[i]) remaining++;
      int[] cands = new int[n];
      int resumeAt = 0;
      long steps = 0;
      // the deepest dead end, for the report
      int bestDepth = -1;
      int[] bestOrder = new int[0];
      int bestBlocking = -1;

      while (true) {
        if (remaining == 0) {
          return new KeyResult(key, Result.Verdict.LINEARIZABLE, source.size(), steps, states, "", List.of());
        }
        // candidates: operations invoked before the first pending response; completed ones first
        int nc = 0;
        int blocking = -1;
        for (int e = next[head]; e != tail; e = next[e]) {
          if ((e & 1) == 1) {
            blocking = e >> 1;
            break;
          }
          if (!open[e >> 1]) cands[nc++] = e >> 1;
        }
        for (int e = next[head]; e != tail && (e & 1) == 0; e = next[e]) {
          int i = e >> 1;
          if (open[i] && (group[i] < 0 || groupMembers[group[i]][groupNext[group[i]]] == i)) cands[nc++] = i;
        }
        boolean advanced = false;
        for (int c = resumeAt; c < nc; c++) {
          if (++steps > budget.steps() || states >= maxStates) {
            return inconclusive(steps, states, depth);
          }
          int i = cands[c];
          int ns = step(i, state);
          if (ns == ILLEGAL) continue;
          if (justify != NONE && step(i, justify) != ILLEGAL) continue;
          int nj = open[i] ? state : NONE;
          toggle(i, openIndex, bits, used);
          long z = open[i] ? zob : zob ^ zobrist[i];
          long h = z ^ (ns * 0x9E3779B97F4A7C15L) ^ ((nj + 3) * 0xC2B2AE3D27D4EB4FL);
          int hash = (int) (h ^ (h >>> 32));
          Node probe = new Node(bits, ns, nj, hash);
          List<long[]> usages = seen.get(probe);
          if (usages != null && dominated(usages, used)) {
            toggle(i, openIndex, bits, used);
            continue;
          }
          if (usages == null) {
            usages = new ArrayList<>(1);
            seen.put(new Node(bits.clone(), ns, nj, hash), usages);
          }
          usages.add(used.clone());
          states++;
          zob = z;
          stackOp[depth] = i;
          stackState[depth] = state;
          stackCand[depth] = c;
          stackJustify[depth] = justify;
          depth++;
          state = ns;
          justify = nj;
          lift(i);
          if (!open[i]) remaining--;
          if (group[i] >= 0) groupNext[group[i]]++;
          advanced = true;
          break;
        }
        if (advanced) {
          resumeAt = 0;
          continue;
        }
        // dead end: the blocking operation cannot be linearized after this prefix
        if (justify == NONE && depth > bestDepth) {
          bestDepth = depth;
          bestOrder = Arrays.copyOf(stackOp, depth);
          bestBlocking = blocking;
        }
        if (depth == 0) {
          return violation(steps, states, bestOrder, bestBlocking);
        }
        steps++;
        depth--;
        int i = stackOp[depth];
        state = stackState[depth];
        justify = stackJustify[depth];
        resumeAt = stackCand[depth] + 1;
        toggle(i, openIndex, bits, used);
        if (!open[i]) zob ^= zobrist[i];
        unlift(i);
        if (!open[i]) remaining++;
        if (group[i] >= 0) groupNext[group[i]]--;
      }
    }

    private static void toggle(int i, int[] openIndex, long[] bits, long[] used) {
      int o = openIndex[i];
      if (o < 0) bits[i >> 6] ^= 1L << i;
      else used[o >> 6] ^= 1L << o;
    }

    /** Whether some explored usage is a subset of {@code used}. */
    private static boolean dominated(List<long[]> usages, long[] used) {
      outer:
      for (long[] u : usages) {
        for (int w = 0; w < u.length; w++) if ((u[w] & ~used[w]) != 0) continue outer;
        return true;
      }
      return false;
    }

    KeyResult inconclusive(long steps, int states, int depth) {
      int unknown = 0;
      for (int i = 0; i < n; i++) if (open[i]) unknown++;
      String text = "key " + key + ": INCONCLUSIVE: search budget exhausted (" + steps + " steps, " + states
          + " memoized states; budget " + budget + ", memo capped at " + Budget.MEMO_WORDS + " words) at depth " + depth + " of " + n
          + " operations (" + unknown + " of them UNKNOWN and never observed). Raise the budget or shorten the history.\n";
      return new KeyResult(key, Result.Verdict.INCONCLUSIVE, source.size(), steps, states, text, List.of());
    }

    KeyResult violation(long steps, int states, int[] order, int blocking) {
      Set<Operation> involved = new LinkedHashSet<>();
      StringBuilder sb = new StringBuilder();
      sb.append("key ").append(key).append(": NOT LINEARIZABLE (").append(n).append(" relevant operations, ")
          .append(steps).append(" steps, ").append(states).append(" states explored).\n");
      // the register value after the longest order found, with the actual (not abstracted) values
      String value = null;
      String[] after = new String[order.length];
      for (int k = 0; k < order.length; k++) {
        Operation o = op[order[k]];
        switch (type[order[k]]) {
          case WRITE, CAS_TRUE, MAYBE_WRITE, MAYBE_CAS -> value = o.value();
          default -> { }
        }
        after[k] = value;
      }
      Operation b = op[blocking];
      involved.add(b);
      sb.append("  No valid order reaches the response of this operation (the longest valid order found has ")
          .append(order.length).append(" operations and leaves the register at ").append(Operation.quote(value))
          .append("):\n");
      sb.append("    ").append(b.describe(t0)).append('\n');
      String wanted = b.kind() == Kind.READ ? b.output() : b.kind() == Kind.CAS ? b.expected() : null;
      boolean observes = b.kind() == Kind.READ || (b.kind() == Kind.CAS && b.succeeded());
      if (observes && wanted != null && writerOf.containsKey(wanted)) {
        Operation w = writerOf.get(wanted);
        involved.add(w);
        sb.append("  The value it observed, ").append(Operation.quote(wanted)).append(", was written by:\n    ")
            .append(w.describe(t0)).append('\n');
      } else if (observes && wanted == null) {
        sb.append("  It observed the key absent (its initial state; nothing deletes it).\n");
      }
      // what certainly happened before it: writes that had returned when it was invoked
      List<Integer> before = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        if ((type[i] == WRITE || type[i] == CAS_TRUE) && resp[i] < inv[blocking]) before.add(i);
      }
      before.sort((x, y) -> Long.compare(resp[x], resp[y]));
      if (!before.isEmpty()) {
        int from = Math.max(0, before.size() - 6);
        sb.append("  Writes of ").append(key).append(" that had returned before it was invoked (")
            .append(from == 0 ? "all " + before.size() : "the last 6 of " + before.size()).append("):\n");
        for (int k = from; k < before.size(); k++) {
          Operation o = op[before.get(k)];
          involved.add(o);
          sb.append("    ").append(o.describe(t0)).append(o.outcome() == Outcome.UNKNOWN ? " (observed, so applied)" : "")
              .append('\n');
        }
      }
      // what overlapped it
      List<Operation> concurrent = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        if (i != blocking && inv[i] <= resp[blocking] && resp[i] >= inv[blocking]) concurrent.add(op[i]);
      }
      if (!concurrent.isEmpty()) {
        sb.append("  Operations on ").append(key).append(" concurrent with it (").append(concurrent.size()).append("):\n");
        for (int k = 0; k < concurrent.size(); k++) {
          if (k == 12) {
            sb.append("    ...\n");
            break;
          }
          involved.add(concurrent.get(k));
          sb.append("    ").append(concurrent.get(k).describe(t0)).append('\n');
        }
      }
      if (order.length > 0) {
        int from = Math.max(0, order.length - 8);
        sb.append("  The end of the longest valid order found (").append(from == 0 ? "all" : "last " + (order.length - from))
            .append(" of ").append(order.length).append("), with the register value after each:\n");
        for (int k = from; k < order.length; k++) {
          sb.append("    ").append(op[order[k]].describe(t0)).append("   => ").append(Operation.quote(after[k]))
              .append('\n');
        }
      }
      return new KeyResult(key, Result.Verdict.NOT_LINEARIZABLE, source.size(), steps, states, sb.toString(),
          List.copyOf(involved));
    }
  }
}
