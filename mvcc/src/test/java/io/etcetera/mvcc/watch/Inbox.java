package io.etcetera.mvcc.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.etcetera.api.mvccpb.Event;
import io.etcetera.mvcc.testutil.Req;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * The client end of one watch stream in tests: polls what the hub queued (as the server's sender
 * does) into {@link #received}, and waits for the sync thread where needed.
 */
final class Inbox {
  static final long WAIT_MS = 20_000;
  static final WatchOptions PLAIN = new WatchOptions(false, false, false, false, false);
  static final WatchOptions PROGRESS = new WatchOptions(false, false, false, true, false);
  static final WatchOptions NO_PUT = new WatchOptions(true, false, false, false, false);
  static final WatchOptions NO_DELETE = new WatchOptions(false, true, false, false, false);

  final WatchHub hub;
  final WatchStream stream;
  final AtomicInteger wakeups = new AtomicInteger();
  final List<Outbound> received = new ArrayList<>();

  Inbox(WatchHub hub) {
    this.hub = hub;
    this.stream = hub.newStream(wakeups::incrementAndGet);
  }

  static ByteString bs(String s) {
    return Req.bs(s);
  }

  /** Watch {@code key} (single key: end ""), from {@code startRev} (0: next revision). */
  Watcher watch(String key, String end, long startRev) {
    return hub.watch(stream, 0, bs(key), bs(end), startRev, PLAIN);
  }

  Watcher watch(long id, String key, String end, long startRev, WatchOptions o) {
    return hub.watch(stream, id, bs(key), bs(end), startRev, o);
  }

  /** Polls everything queued now; returns it (also appended to {@link #received}). */
  List<Outbound> drain() {
    List<Outbound> out = new ArrayList<>();
    for (Outbound o = stream.poll(); o != null; o = stream.poll()) {
      out.add(o);
    }
    received.addAll(out);
    return out;
  }

  /** Drains until {@code cond} holds over everything received so far. */
  void await(String what, Predicate<List<Outbound>> cond) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
    while (true) {
      drain();
      if (cond.test(received)) {
        return;
      }
      if (System.nanoTime() > deadline) {
        fail("timed out waiting for " + what + "; received " + describe(received));
      }
      sleep(2);
    }
  }

  /** Drains until {@code n} events for watcher {@code id} arrived in total. */
  void awaitEvents(long id, int n) {
    await(n + " events for watcher " + id, r -> events(r, id).size() >= n);
  }

  static void awaitTrue(String what, BooleanSupplier cond) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out waiting for " + what);
      }
      sleep(2);
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Every event received for watcher {@code id}, in order. */
  List<Event> events(long id) {
    return events(received, id);
  }

  static List<Event> events(List<Outbound> r, long id) {
    List<Event> out = new ArrayList<>();
    for (Outbound o : r) {
      if (o instanceof Outbound.Events e && e.watcher().id() == id) {
        out.addAll(e.events());
      }
    }
    return out;
  }

  /** The responses received for watcher {@code id} (events and control), in order. */
  List<Outbound> of(long id) {
    List<Outbound> out = new ArrayList<>();
    for (Outbound o : received) {
      if (idOf(o) == id) {
        out.add(o);
      }
    }
    return out;
  }

  static long idOf(Outbound o) {
    if (o instanceof Outbound.Events e) {
      return e.watcher().id();
    } else if (o instanceof Outbound.Created c) {
      return c.watchId();
    } else if (o instanceof Outbound.Progress p) {
      return p.watchId();
    } else {
      return ((Outbound.Canceled) o).watchId();
    }
  }

  <T extends Outbound> List<T> ofType(Class<T> type) {
    List<T> out = new ArrayList<>();
    for (Outbound o : received) {
      if (type.isInstance(o)) {
        out.add(type.cast(o));
      }
    }
    return out;
  }

  /** Asserts that the next thing queued is a single response of {@code type}, and returns it. */
  <T extends Outbound> T expectOnly(Class<T> type) {
    List<Outbound> got = drain();
    assertEquals(1, got.size(), () -> "expected one " + type.getSimpleName() + ", got " + describe(got));
    return assertInstanceOf(type, got.get(0));
  }

  void expectNothing() {
    List<Outbound> got = drain();
    assertEquals(List.of(), describe(got), "expected nothing queued");
  }

  /** assertEquals for long lists: reports sizes and the first difference with a little context. */
  static void assertSameList(List<String> want, List<String> got) {
    if (want.equals(got)) {
      return;
    }
    int i = 0;
    while (i < want.size() && i < got.size() && want.get(i).equals(got.get(i))) {
      i++;
    }
    int from = Math.max(0, i - 3);
    fail("lists differ at index " + i + " (want " + want.size() + " items, got " + got.size() + ")"
        + "\n want[" + from + "..]: " + want.subList(from, Math.min(want.size(), i + 4))
        + "\n  got[" + from + "..]: " + got.subList(from, Math.min(got.size(), i + 4)));
  }

  // ---- readable forms

  /** "PUT a=1 c5 m7 v2 l0" or "DELETE a m9". */
  static String ev(Event e) {
    var kv = e.getKv();
    if (e.getType() == Event.EventType.DELETE) {
      return "DELETE " + Req.str(kv.getKey()) + " m" + kv.getModRevision();
    }
    return "PUT " + Req.str(kv.getKey()) + "=" + Req.str(kv.getValue()) + " c" + kv.getCreateRevision()
        + " m" + kv.getModRevision() + " v" + kv.getVersion() + (kv.getLease() != 0 ? " l" + kv.getLease() : "");
  }

  static List<String> evs(List<Event> es) {
    List<String> out = new ArrayList<>();
    for (Event e : es) {
      out.add(ev(e));
    }
    return out;
  }

  static List<String> describe(List<Outbound> os) {
    List<String> out = new ArrayList<>();
    for (Outbound o : os) {
      out.add(describe(o));
    }
    return out;
  }

  static String describe(Outbound o) {
    if (o instanceof Outbound.Events e) {
      return "Events(" + e.watcher().id() + " @" + e.revision() + " " + evs(e.events()) + ")";
    }
    return o.toString();
  }
}
