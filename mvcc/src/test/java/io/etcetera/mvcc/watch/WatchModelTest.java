package io.etcetera.mvcc.watch;

import static io.etcetera.mvcc.testutil.ApplyFixture.compactReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.deleteReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.grantReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.putReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.revokeReq;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.mvccpb.Event;
import io.etcetera.mvcc.testutil.ApplyFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Randomized: streams with random ranges, filters and start revisions (past, current, future,
 * compacted), random puts, deletes, range deletes, txns and lease revokes in group commits, random
 * cancels, progress requests and ticks, compactions, and clients that read at different speeds or
 * not at all for a long time. Each watcher must receive exactly the committed events of its range
 * from its start revision, in order, whole revisions at a time, or a prefix of them followed by a
 * compacted cancel (it was behind the compaction) or by its own cancel. Progress responses must
 * never overtake the events they vouch for.
 */
class WatchModelTest {
  private static final String[] KEYS = {"a", "b", "c", "d", "p/1", "p/2", "p/3", "q", "z", "\u00e9", "\u00e9/x"};
  private static final String[][] RANGES = {
      {"a", ""}, {"p/2", ""}, {"\u00e9", ""}, // single keys
      {"p/", "p0"}, {"\u00e9", "\u00ea"}, // prefixes
      {"c", "\0"}, {"q", "\0"}, // from key
      {"\0", "\0"}, {"", "\0"}, // all keys
      {"b", "p/2"}, {"", "c"}, // ranges
  };
  private static final int STEPS = 3000;
  /** Compactions only before this step, so that late watchers of slow streams fall behind and recover. */
  private static final int COMPACT_UNTIL = 1500;

  @TempDir
  Path dir;

  /** The model of the store: key -> {create, version, lease}, value separately. */
  final TreeMap<String, long[]> live = new TreeMap<>();
  final Map<String, String> values = new HashMap<>();
  final Map<Long, TreeSet<String>> leaseKeys = new HashMap<>();
  /** Every committed event, in order. */
  final List<Event> history = new ArrayList<>();
  /** Revisions whose events are all puts: safe compaction points (see etcd's compaction of tombstones). */
  final List<Long> putOnlyRevisions = new ArrayList<>();
  long rev = 1;
  long compacted = -1;
  long plannedCompact = -1;

  static final class Tracked {
    final Inbox inbox;
    final Watcher w;
    final String key;
    final String end;

    Tracked(Inbox inbox, Watcher w, String key, String end) {
      this.inbox = inbox;
      this.w = w;
      this.key = key;
      this.end = end;
    }
  }

  // ---- the model's view of each request

  /** Builds the events one request produces (empty when it changes nothing), updating the model. */
  private List<Event> modelPut(String key, String value, long lease, long atRev) {
    long[] cur = live.get(key);
    long create = cur == null ? atRev : cur[0];
    long version = cur == null ? 1 : cur[1] + 1;
    if (cur != null && cur[2] != 0) {
      leaseKeys.get(cur[2]).remove(key);
    }
    live.put(key, new long[] {create, version, lease});
    values.put(key, value);
    if (lease != 0) {
      leaseKeys.get(lease).add(key);
    }
    return List.of(Event.newBuilder().setType(Event.EventType.PUT).setKv(io.etcetera.api.mvccpb.KeyValue.newBuilder()
        .setKey(Req.bs(key)).setValue(Req.bs(value)).setCreateRevision(create).setModRevision(atRev)
        .setVersion(version).setLease(lease)).build());
  }

  private List<Event> modelDelete(String key, long atRev) {
    long[] cur = live.remove(key);
    if (cur == null) {
      return List.of();
    }
    values.remove(key);
    if (cur[2] != 0) {
      leaseKeys.get(cur[2]).remove(key);
    }
    return List.of(Event.newBuilder().setType(Event.EventType.DELETE).setKv(io.etcetera.api.mvccpb.KeyValue.newBuilder()
        .setKey(Req.bs(key)).setModRevision(atRev)).build());
  }

  private List<Event> modelDeleteRange(String key, String end, long atRev) {
    List<Event> out = new ArrayList<>();
    for (String k : new ArrayList<>(live.subMap(key, true, end, false).keySet())) {
      out.addAll(modelDelete(k, atRev));
    }
    return out;
  }

  private void committed(List<Event> evs) {
    if (evs.isEmpty()) {
      return;
    }
    rev++;
    for (Event e : evs) {
      assertEquals(rev, e.getKv().getModRevision());
    }
    history.addAll(evs);
    if (evs.stream().allMatch(e -> e.getType() == Event.EventType.PUT)) {
      putOnlyRevisions.add(rev);
    }
  }

  private static boolean covers(String key, String end, String k) {
    String from = key.isEmpty() ? "\0" : key;
    if (end.isEmpty()) {
      return k.equals(from);
    }
    if (k.compareTo(from) < 0) {
      return false;
    }
    return end.equals("\0") || k.compareTo(end) < 0;
  }

  private List<Event> expected(Tracked t) {
    List<Event> out = new ArrayList<>();
    for (Event e : history) {
      if (e.getKv().getModRevision() < t.w.startRev) {
        continue;
      }
      if (e.getType() == Event.EventType.PUT ? t.w.noPut : t.w.noDelete) {
        continue;
      }
      if (covers(t.key, t.end, Req.str(e.getKv().getKey()))) {
        out.add(e);
      }
    }
    return out;
  }

  // ---- the run

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void everyWatcherSeesExactlyTheCommittedHistoryOfItsRange(long seed) {
    Random rnd = new Random(seed);
    try (ApplyFixture fx = ApplyFixture.open(dir.resolve("s" + seed))) {
      WatchHub hub = fx.hub();
      double[] readChance = {1.0, 0.5, 0.05, 0.003, 0.0};
      List<Inbox> streams = new ArrayList<>();
      for (int i = 0; i < readChance.length; i++) {
        streams.add(new Inbox(hub));
      }
      List<Tracked> watchers = new ArrayList<>();
      List<Long> leases = new ArrayList<>();
      long nextLease = 1;
      int maxBehind = 0;

      for (int step = 0; step < STEPS; step++) {
        // a few requests in one batch
        int n = 1 + rnd.nextInt(4);
        List<InternalRaftRequest> reqs = new ArrayList<>();
        List<Runnable> modelSteps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          int dice = rnd.nextInt(100);
          String k = KEYS[rnd.nextInt(KEYS.length)];
          String v = "v" + step + "." + i;
          if (dice < 45) {
            long lease = !leases.isEmpty() && rnd.nextInt(4) == 0 ? leases.get(rnd.nextInt(leases.size())) : 0;
            reqs.add(putReq(k, v, lease));
            modelSteps.add(() -> committed(modelPut(k, v, lease, rev + 1)));
          } else if (dice < 60) {
            reqs.add(deleteReq(k));
            modelSteps.add(() -> committed(modelDelete(k, rev + 1)));
          } else if (dice < 65) {
            String[] r = RANGES[rnd.nextInt(RANGES.length)];
            if (r[1].isEmpty() || r[1].equals("\0")) {
              continue;
            }
            reqs.add(deleteReq(r[0].isEmpty() ? "\0" : r[0], r[1]));
            modelSteps.add(() -> committed(modelDeleteRange(r[0].isEmpty() ? "\0" : r[0], r[1], rev + 1)));
          } else if (dice < 85) {
            // a txn over distinct keys: puts and deletes, in op order
            List<String> ks = new ArrayList<>(List.of(KEYS));
            java.util.Collections.shuffle(ks, rnd);
            int ops = 1 + rnd.nextInt(4);
            TxnRequest.Builder t = Req.txn();
            List<Boolean> isPut = new ArrayList<>();
            for (int o = 0; o < ops; o++) {
              boolean put = rnd.nextInt(3) != 0;
              isPut.add(put);
              t.addSuccess(put ? Req.op(Req.put(ks.get(o), v + "/" + o)) : Req.op(Req.delete(ks.get(o))));
            }
            reqs.add(Req.raft(t.build()));
            modelSteps.add(() -> {
              List<Event> evs = new ArrayList<>();
              for (int o = 0; o < ops; o++) {
                evs.addAll(isPut.get(o) ? modelPut(ks.get(o), v + "/" + o, 0, rev + 1) : modelDelete(ks.get(o), rev + 1));
              }
              committed(evs);
            });
          } else if (dice < 90) {
            long id = nextLease++;
            reqs.add(grantReq(id, 1000));
            modelSteps.add(() -> {
              leases.add(id);
              leaseKeys.put(id, new TreeSet<>());
            });
          } else if (dice < 94 && !leases.isEmpty()) {
            long id = leases.remove(rnd.nextInt(leases.size()));
            reqs.add(revokeReq(id));
            modelSteps.add(() -> {
              List<Event> evs = new ArrayList<>();
              for (String key : new ArrayList<>(leaseKeys.get(id))) {
                evs.addAll(modelDelete(key, rev + 1));
              }
              leaseKeys.remove(id);
              committed(evs);
            });
          } else if (dice < 95 && step < COMPACT_UNTIL) {
            long at = -1;
            for (long r : putOnlyRevisions) {
              if (r > plannedCompact && r > rev - 1500 && rnd.nextInt(4) == 0) {
                at = r;
              }
            }
            if (at > 0) {
              long c = at;
              plannedCompact = c;
              reqs.add(compactReq(c));
              modelSteps.add(() -> compacted = c);
            }
          }
        }
        // the model runs in request order, as the applier does
        List<Object> results = fx.applyGroup(reqs);
        for (int i = 0; i < reqs.size(); i++) {
          if (results.get(i) instanceof EtcdException e) {
            fail("request " + reqs.get(i) + " failed: " + e.getMessage());
          }
          modelSteps.get(i).run();
        }
        assertEquals(rev, fx.revision(), "the model and the store disagree on the revision");

        // new watchers, cancels, progress
        if (rnd.nextInt(40) == 0 && watchers.size() < 60) {
          Inbox s = streams.get(rnd.nextInt(streams.size()));
          String[] r = RANGES[rnd.nextInt(RANGES.length)];
          long start = switch (rnd.nextInt(5)) {
            case 0, 1 -> 0;
            case 2 -> Math.max(1, rev - rnd.nextInt(400));
            case 3 -> rev;
            default -> rev + 1 + rnd.nextInt(30);
          };
          WatchOptions o = new WatchOptions(rnd.nextInt(6) == 0, rnd.nextInt(6) == 0, false, rnd.nextBoolean(), false);
          Watcher w = s.watch(0, r[0], r[1], start, o);
          watchers.add(new Tracked(s, w, r[0], r[1]));
        }
        if (rnd.nextInt(150) == 0 && !watchers.isEmpty()) {
          Tracked t = watchers.get(rnd.nextInt(watchers.size()));
          hub.cancel(t.inbox.stream, t.w.id());
        }
        if (rnd.nextInt(20) == 0) {
          hub.requestProgress(streams.get(rnd.nextInt(streams.size())).stream);
        }
        if (rnd.nextInt(30) == 0) {
          hub.progressTick();
        }
        maxBehind = Math.max(maxBehind, hub.groupSizes()[1]);
        for (int i = 0; i < streams.size(); i++) {
          if (rnd.nextDouble() < readChance[i]) {
            streams.get(i).drain();
          }
        }
      }

      // everyone reads now: wait until every watcher is level with the store
      fx.put("final", "x"); // also flushes deferred progress requests
      committed(modelPut("final", "x", 0, rev + 1));
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (true) {
        for (Inbox s : streams) {
          s.drain();
        }
        boolean done = hub.groupSizes()[1] == 0;
        for (Inbox s : streams) {
          done &= s.stream.isEmpty();
        }
        if (done) {
          break;
        }
        if (System.nanoTime() > deadline) {
          fail("watchers did not catch up: groups " + hub.groupSizes()[0] + "/" + hub.groupSizes()[1]);
        }
        Inbox.sleep(2);
      }

      int compactedCancels = 0;
      int complete = 0;
      int[] completePerStream = new int[streams.size()];
      for (Tracked t : watchers) {
        String name = "seed " + seed + " watcher " + t.w.id() + " [" + t.key + ", " + t.end + ") from " + t.w.startRev
            + (t.w.noPut ? " noPut" : "") + (t.w.noDelete ? " noDelete" : "");
        List<Outbound> mine = t.inbox.of(t.w.id());
        assertInstanceOf(Outbound.Created.class, mine.get(0), name);
        List<String> got = Inbox.evs(t.inbox.events(t.w.id()));
        List<String> want = Inbox.evs(expected(t));
        WatchCatchUpTest.assertWellFormed(t.inbox.received, t.w.id());
        Outbound last = mine.get(mine.size() - 1);
        if (last instanceof Outbound.Canceled c) {
          // a prefix, then nothing
          assertTrue(got.size() <= want.size(), name);
          Inbox.assertSameList(want.subList(0, got.size()), got);
          if (c.compactRevision() != 0) {
            compactedCancels++;
            assertEquals(0, c.revision(), name);
            long lastGot = got.isEmpty() ? 0 : t.inbox.events(t.w.id()).get(got.size() - 1).getKv().getModRevision();
            // its next revision was below the compaction: after its start and after its last event
            assertTrue(c.compactRevision() > Math.max(t.w.startRev, lastGot + 1),
                name + ": canceled at compaction " + c.compactRevision() + " though at " + lastGot);
          }
          for (int i = 1; i < mine.size() - 1; i++) {
            assertTrue(!(mine.get(i) instanceof Outbound.Canceled), name + ": two cancels");
          }
        } else {
          complete++;
          completePerStream[streams.indexOf(t.inbox)]++;
          Inbox.assertSameList(want, got);
        }
        checkProgress(t, name);
      }
      for (Inbox s : streams) {
        checkStreamProgress(s, watchers);
      }
      assertTrue(complete > 0);
      System.out.printf("seed %d: %d revisions, %d watchers (%d complete %s, %d compacted), at most %d behind,"
          + " compacted at %d%n", seed, rev, watchers.size(), complete, java.util.Arrays.toString(completePerStream),
          compactedCancels, maxBehind, compacted);
      assertTrue(maxBehind > 0, "no watcher ever fell behind: the run did not exercise catch-up");
    }
  }

  /** A watcher's own progress notification at R comes after every one of its events up to R. */
  private void checkProgress(Tracked t, String name) {
    List<Event> want = expected(t);
    int seen = 0;
    for (Outbound o : t.inbox.received) {
      if (o instanceof Outbound.Events e && e.watcher() == t.w) {
        seen += e.events().size();
      } else if (o instanceof Outbound.Progress p && p.watchId() == t.w.id() && p.watchId() >= 0) {
        long r = p.revision();
        long due = want.stream().filter(e -> e.getKv().getModRevision() <= r).count();
        assertEquals(due, seen, name + ": progress at " + r + " before its events");
        assertTrue(t.w.progressNotify, name + ": a progress notification it did not ask for");
      }
    }
  }

  /** A stream's progress at R (watch id -1) comes after every event up to R of every watcher it has. */
  private void checkStreamProgress(Inbox s, List<Tracked> watchers) {
    for (int i = 0; i < s.received.size(); i++) {
      if (!(s.received.get(i) instanceof Outbound.Progress p) || p.watchId() != -1) {
        continue;
      }
      List<Outbound> before = s.received.subList(0, i);
      for (Tracked t : watchers) {
        if (t.inbox != s) {
          continue;
        }
        boolean created = false;
        boolean gone = false;
        for (Outbound o : before) {
          if (o instanceof Outbound.Created c && c.watchId() == t.w.id()) {
            created = true;
          } else if (o instanceof Outbound.Canceled c && c.watchId() == t.w.id()) {
            gone = true;
          }
        }
        if (!created || gone) {
          continue;
        }
        long due = expected(t).stream().filter(e -> e.getKv().getModRevision() <= p.revision()).count();
        assertEquals(due, Inbox.events(before, t.w.id()).size(),
            "stream progress at " + p.revision() + " before the events of watcher " + t.w.id());
      }
    }
  }
}
