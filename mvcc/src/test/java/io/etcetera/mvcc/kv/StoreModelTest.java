package io.etcetera.mvcc.kv;

import static io.etcetera.mvcc.testutil.Req.bs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.Compare.CompareResult;
import io.etcetera.api.etcdserverpb.Compare.CompareTarget;
import io.etcetera.api.etcdserverpb.CompactionResponse;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.DeleteRangeResponse;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.PutResponse;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.api.etcdserverpb.ResponseOp;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.mvcc.apply.RequestChecks;
import io.etcetera.mvcc.testutil.KvFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random sequences of put / delete / delete range / txn / compaction, applied to the store and
 * to a plain model (a sorted map per revision). Every response must equal the model's, reads at
 * random revisions must equal the model's state at that revision (also after reopening the store),
 * and compacted or future revisions must fail as etcd fails them.
 */
class StoreModelTest {
  private static final int OPS = 4000;
  private static final int KEYS = 10;

  @TempDir
  Path dir;

  // ---------------------------------------------------------------- the model

  private record MKv(String key, String value, long create, long mod, long version) {
    KeyValue proto() {
      return KeyValue.newBuilder().setKey(bs(key)).setValue(bs(value)).setCreateRevision(create)
          .setModRevision(mod).setVersion(version).build();
    }
  }

  private record Change(long rev, String key, boolean tombstone) {}

  private static final class Model {
    /** State after each revision; index = revision (0 and 1 are the empty store). */
    final List<NavigableMap<String, MKv>> snaps = new ArrayList<>();
    TreeMap<String, MKv> state = new TreeMap<>();
    final List<Change> changes = new ArrayList<>();
    long rev = 1;
    long compactRev = 0;

    Model() {
      snaps.add(new TreeMap<>());
      snaps.add(new TreeMap<>());
    }

    NavigableMap<String, MKv> at(long r) {
      return snaps.get((int) r);
    }

    /** One write request in progress. */
    final class Write {
      final long newRev = rev + 1;
      int sub;

      long readRev() {
        return sub > 0 ? newRev : rev;
      }

      MKv put(String key, String value) {
        MKv prev = state.get(key);
        MKv kv = prev == null
            ? new MKv(key, value, newRev, newRev, 1)
            : new MKv(key, value, prev.create, newRev, prev.version + 1);
        state.put(key, kv);
        changes.add(new Change(newRev, key, false));
        sub++;
        return kv;
      }

      List<MKv> deleteRange(String key, String end) {
        List<MKv> gone = new ArrayList<>(slice(state, key, end).values());
        for (MKv kv : gone) {
          state.remove(kv.key);
          changes.add(new Change(newRev, kv.key, true));
          sub++;
        }
        return gone;
      }

      long end() {
        if (sub > 0) {
          rev = newRev;
          snaps.add(new TreeMap<>(state));
        }
        return rev;
      }
    }
  }

  static NavigableMap<String, MKv> slice(NavigableMap<String, MKv> m, String key, String end) {
    if (end.isEmpty()) {
      TreeMap<String, MKv> one = new TreeMap<>();
      MKv kv = m.get(key);
      if (kv != null) {
        one.put(key, kv);
      }
      return one;
    }
    if (end.equals("\0")) {
      return m.tailMap(key, true);
    }
    if (key.compareTo(end) >= 0) {
      return new TreeMap<>();
    }
    return m.subMap(key, true, end, false);
  }

  // ---------------------------------------------------------------- generators

  private final List<String> keySpace = new ArrayList<>();
  private Random rnd;

  private String key() {
    return keySpace.get(rnd.nextInt(keySpace.size()));
  }

  private String value() {
    return Integer.toString(rnd.nextInt(1000), 36);
  }

  /** A range end: none (single key), from-key, another key, or past every key. */
  private String end(boolean allowFromKey) {
    int c = rnd.nextInt(10);
    if (c < 4) {
      return "";
    }
    if (c < 5 && allowFromKey) {
      return "\0";
    }
    if (c < 6) {
      return "l";
    }
    return key();
  }

  private Compare compare(Model m) {
    CompareTarget target = CompareTarget.forNumber(rnd.nextInt(5));
    CompareResult result = CompareResult.forNumber(rnd.nextInt(4));
    String key = key();
    Compare.Builder c = Compare.newBuilder().setKey(bs(key)).setTarget(target).setResult(result);
    if (rnd.nextInt(6) == 0) {
      c.setRangeEnd(bs(end(true)));
    }
    MKv cur = m.state.get(key);
    long near = rnd.nextInt(3) - 1;
    switch (target) {
      case VERSION -> c.setVersion((cur == null ? 0 : cur.version) + near);
      case CREATE -> c.setCreateRevision((cur == null ? 0 : cur.create) + near);
      case MOD -> c.setModRevision((cur == null ? m.rev : cur.mod) + near);
      case LEASE -> c.setLease(near + 1);
      case VALUE -> c.setValue(bs(cur != null && rnd.nextBoolean() ? cur.value : value()));
      default -> throw new IllegalStateException();
    }
    return c.build();
  }

  private RequestOp txnOp(Model m, int depth) {
    int c = rnd.nextInt(20);
    if (c < 8) {
      PutRequest.Builder p = PutRequest.newBuilder().setKey(bs(key()));
      if (rnd.nextInt(8) == 0) {
        p.setIgnoreValue(true);
      } else {
        p.setValue(bs(value()));
      }
      p.setPrevKv(rnd.nextInt(4) == 0);
      return RequestOp.newBuilder().setRequestPut(p).build();
    }
    if (c < 12) {
      // no from-key deletes in txns: etcd's overlap check does not see them (see TxnTest)
      return RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder()
          .setKey(bs(key())).setRangeEnd(bs(end(false))).setPrevKv(rnd.nextBoolean())).build();
    }
    if (c < 18 || depth > 0) {
      RangeRequest.Builder r = RangeRequest.newBuilder().setKey(bs(key())).setRangeEnd(bs(end(true)));
      if (rnd.nextInt(6) == 0) {
        r.setRevision(Math.max(0, m.compactRev - 1) + rnd.nextInt((int) (m.rev - m.compactRev) + 3));
      }
      return RequestOp.newBuilder().setRequestRange(r).build();
    }
    return RequestOp.newBuilder().setRequestTxn(txnRequest(m, depth + 1)).build();
  }

  private TxnRequest txnRequest(Model m, int depth) {
    TxnRequest.Builder t = TxnRequest.newBuilder();
    int nc = rnd.nextInt(3);
    for (int i = 0; i < nc; i++) {
      t.addCompare(compare(m));
    }
    int ns = rnd.nextInt(4);
    for (int i = 0; i < ns; i++) {
      t.addSuccess(txnOp(m, depth));
    }
    int nf = rnd.nextInt(4);
    for (int i = 0; i < nf; i++) {
      t.addFailure(txnOp(m, depth));
    }
    return t.build();
  }

  // ---------------------------------------------------------------- expected results

  private static boolean compareHolds(Compare c, NavigableMap<String, MKv> state) {
    NavigableMap<String, MKv> kvs = slice(state, c.getKey().toStringUtf8(), c.getRangeEnd().toStringUtf8());
    if (kvs.isEmpty()) {
      if (c.getTarget() == CompareTarget.VALUE) {
        return false;
      }
      return compareKv(c, null);
    }
    for (MKv kv : kvs.values()) {
      if (!compareKv(c, kv)) {
        return false;
      }
    }
    return true;
  }

  private static boolean compareKv(Compare c, MKv kv) {
    int sign = switch (c.getTarget()) {
      case VALUE -> Integer.signum((kv == null ? "" : kv.value).compareTo(c.getValue().toStringUtf8()));
      case VERSION -> Long.compare(kv == null ? 0 : kv.version, c.getVersion());
      case CREATE -> Long.compare(kv == null ? 0 : kv.create, c.getCreateRevision());
      case MOD -> Long.compare(kv == null ? 0 : kv.mod, c.getModRevision());
      case LEASE -> Long.compare(0, c.getLease());
      default -> throw new IllegalStateException();
    };
    return switch (c.getResult()) {
      case EQUAL -> sign == 0;
      case NOT_EQUAL -> sign != 0;
      case GREATER -> sign > 0;
      case LESS -> sign < 0;
      default -> throw new IllegalStateException();
    };
  }

  /** The branch each txn on the taken path takes, depth first, all on the state before the txn. */
  private static void path(TxnRequest t, NavigableMap<String, MKv> state, List<Boolean> out) {
    boolean ok = true;
    for (Compare c : t.getCompareList()) {
      if (!compareHolds(c, state)) {
        ok = false;
        break;
      }
    }
    out.add(ok);
    for (RequestOp op : ok ? t.getSuccessList() : t.getFailureList()) {
      if (op.hasRequestTxn()) {
        path(op.getRequestTxn(), state, out);
      }
    }
  }

  /** The first error etcd's checkPut then checkRange pass would raise, or null. */
  private static EtcdError check(TxnRequest t, List<Boolean> path, Model m) {
    EtcdError e = walk(t, path, new int[] {0}, m, true);
    return e != null ? e : walk(t, path, new int[] {0}, m, false);
  }

  private static EtcdError walk(TxnRequest t, List<Boolean> path, int[] at, Model m, boolean puts) {
    boolean ok = path.get(at[0]++);
    for (RequestOp op : ok ? t.getSuccessList() : t.getFailureList()) {
      if (op.hasRequestTxn()) {
        EtcdError e = walk(op.getRequestTxn(), path, at, m, puts);
        if (e != null) {
          return e;
        }
      } else if (puts && op.hasRequestPut()) {
        if (op.getRequestPut().getIgnoreValue() && !m.state.containsKey(op.getRequestPut().getKey().toStringUtf8())) {
          return EtcdError.KEY_NOT_FOUND;
        }
      } else if (!puts && op.hasRequestRange()) {
        long r = op.getRequestRange().getRevision();
        if (r > m.rev) {
          return EtcdError.FUTURE_REV;
        }
        if (r != 0 && r < m.compactRev) {
          return EtcdError.COMPACTED;
        }
      }
    }
    return null;
  }

  private static RangeResponse rangeIn(Model m, Model.Write w, RangeRequest r) {
    long readRev = w == null ? m.rev : w.readRev();
    NavigableMap<String, MKv> base = r.getRevision() == 0 ? m.state : m.at(r.getRevision());
    NavigableMap<String, MKv> kvs = slice(base, r.getKey().toStringUtf8(), r.getRangeEnd().toStringUtf8());
    RangeResponse.Builder b = RangeResponse.newBuilder()
        .setHeader(ResponseHeader.newBuilder().setRevision(readRev))
        .setCount(kvs.size());
    int n = 0;
    for (MKv kv : kvs.values()) {
      if (r.getLimit() > 0 && n == r.getLimit()) {
        b.setMore(true);
        break;
      }
      b.addKvs(r.getKeysOnly() ? kv.proto().toBuilder().clearValue().build() : kv.proto());
      n++;
    }
    if (r.getCountOnly()) {
      b.clearKvs().setMore(false);
    }
    return b.build();
  }

  private static PutResponse putIn(Model m, Model.Write w, PutRequest p) {
    String key = p.getKey().toStringUtf8();
    MKv prev = m.state.get(key);
    PutResponse.Builder b = PutResponse.newBuilder();
    if (p.getPrevKv() && prev != null) {
      b.setPrevKv(prev.proto());
    }
    String value = p.getIgnoreValue() ? prev.value : p.getValue().toStringUtf8();
    w.put(key, value);
    return b.setHeader(ResponseHeader.newBuilder().setRevision(w.newRev)).build();
  }

  private static DeleteRangeResponse deleteIn(Model.Write w, DeleteRangeRequest d) {
    List<MKv> gone = w.deleteRange(d.getKey().toStringUtf8(), d.getRangeEnd().toStringUtf8());
    DeleteRangeResponse.Builder b = DeleteRangeResponse.newBuilder().setDeleted(gone.size())
        .setHeader(ResponseHeader.newBuilder().setRevision(w.readRev()));
    if (d.getPrevKv()) {
      for (MKv kv : gone) {
        b.addPrevKvs(kv.proto());
      }
    }
    return b.build();
  }

  private static void txnIn(Model m, Model.Write w, TxnRequest t, List<Boolean> path, int[] at, TxnResponse.Builder b) {
    boolean ok = path.get(at[0]++);
    b.setSucceeded(ok);
    for (RequestOp op : ok ? t.getSuccessList() : t.getFailureList()) {
      ResponseOp.Builder r = ResponseOp.newBuilder();
      switch (op.getRequestCase()) {
        case REQUEST_RANGE -> r.setResponseRange(rangeIn(m, w, op.getRequestRange()));
        case REQUEST_PUT -> r.setResponsePut(putIn(m, w, op.getRequestPut()));
        case REQUEST_DELETE_RANGE -> r.setResponseDeleteRange(deleteIn(w, op.getRequestDeleteRange()));
        case REQUEST_TXN -> {
          TxnResponse.Builder nested = TxnResponse.newBuilder().setHeader(ResponseHeader.newBuilder().setRevision(0));
          txnIn(m, w, op.getRequestTxn(), path, at, nested);
          r.setResponseTxn(nested);
        }
        default -> throw new IllegalStateException();
      }
      b.addResponses(r);
    }
  }

  // ---------------------------------------------------------------- the run

  private KvFixture kv;
  private Model m;
  private final List<CompletableFuture<Void>> physical = new ArrayList<>();
  private String context = "";
  private final java.util.Map<String, Integer> stats = new java.util.TreeMap<>();

  private static String kind(InternalRaftRequest req) {
    return req.hasPut() ? "put" : req.hasDeleteRange() ? "delete" : req.hasTxn() ? "txn" : "compaction";
  }

  private void stat(String k) {
    stats.merge(k, 1, Integer::sum);
  }

  private Object applyBoth(InternalRaftRequest req, EtcdError expectedError) {
    try {
      Applied a = kv.apply(req);
      if (expectedError != null) {
        fail(context + ": expected " + expectedError + " for " + req);
      }
      stat(kind(req) + "-ok");
      if (a.physicalDone() != null) {
        physical.add(a.physicalDone());
      }
      return a.response();
    } catch (EtcdException e) {
      if (expectedError != e.error()) {
        throw new AssertionError(context + ": unexpected " + e.error() + " for " + req, e);
      }
      stat(kind(req) + "-" + e.error());
      return null;
    }
  }

  private void opPut() {
    String key = key();
    PutRequest.Builder p = PutRequest.newBuilder().setKey(bs(key)).setPrevKv(rnd.nextInt(3) == 0);
    if (rnd.nextInt(10) == 0) {
      p.setIgnoreValue(true);
    } else {
      p.setValue(bs(value()));
    }
    PutRequest req = p.build();
    if (req.getIgnoreValue() && !m.state.containsKey(key)) {
      applyBoth(InternalRaftRequest.newBuilder().setPut(req).build(), EtcdError.KEY_NOT_FOUND);
      return;
    }
    Model.Write w = m.new Write();
    PutResponse expected = putIn(m, w, req);
    w.end();
    Object got = applyBoth(InternalRaftRequest.newBuilder().setPut(req).build(), null);
    assertEquals(expected, got, context);
  }

  private void opDelete(boolean ranged) {
    DeleteRangeRequest req = DeleteRangeRequest.newBuilder().setKey(bs(key()))
        .setRangeEnd(bs(ranged ? end(true) : "")).setPrevKv(rnd.nextBoolean()).build();
    Model.Write w = m.new Write();
    DeleteRangeResponse expected = deleteIn(w, req);
    w.end();
    assertEquals(expected, applyBoth(InternalRaftRequest.newBuilder().setDeleteRange(req).build(), null), context);
  }

  private void opTxn() {
    TxnRequest t = txnRequest(m, 0);
    try {
      RequestChecks.checkTxn(t, 128);
    } catch (EtcdException e) {
      assertEquals(EtcdError.DUPLICATE_KEY, e.error(), context);
      stat("txn-refused");
      return; // refused before proposal: never applied
    }
    InternalRaftRequest req = InternalRaftRequest.newBuilder().setTxn(t).build();
    List<Boolean> path = new ArrayList<>();
    path(t, m.state, path);
    EtcdError err = check(t, path, m);
    if (err != null) {
      applyBoth(req, err);
      return;
    }
    Model.Write w = m.new Write();
    TxnResponse.Builder b = TxnResponse.newBuilder();
    txnIn(m, w, t, path, new int[] {0}, b);
    b.setHeader(ResponseHeader.newBuilder().setRevision(w.end()));
    assertEquals(b.build(), applyBoth(req, null), () -> context + " " + t);
  }

  private void opCompact() {
    long r;
    if (rnd.nextInt(10) < 7) {
      // mostly a small step: history stays readable over a wide window
      r = m.compactRev + 1 + rnd.nextInt((int) Math.max(1, (m.rev - m.compactRev) / 4));
    } else {
      // around the edges: at or below the last compaction, up to past the current revision
      r = Math.max(1, m.compactRev - 1) + rnd.nextInt((int) (m.rev - m.compactRev) + 3);
    }
    boolean phys = rnd.nextBoolean();
    InternalRaftRequest req = InternalRaftRequest.newBuilder()
        .setCompaction(io.etcetera.api.etcdserverpb.CompactionRequest.newBuilder().setRevision(r).setPhysical(phys))
        .build();
    if (r <= m.compactRev) {
      applyBoth(req, EtcdError.COMPACTED);
    } else if (r > m.rev) {
      applyBoth(req, EtcdError.FUTURE_REV);
    } else {
      CompactionResponse c = (CompactionResponse) applyBoth(req, null);
      assertEquals(m.rev, c.getHeader().getRevision(), context);
      m.compactRev = r;
    }
  }

  /** A read at a random revision around the readable window, checked against the model. */
  private void randomRead() {
    long lo = Math.max(0, m.compactRev - 2);
    long r = lo + rnd.nextInt((int) (m.rev + 2 - lo));
    RangeRequest.Builder q = RangeRequest.newBuilder().setKey(bs(rnd.nextInt(8) == 0 ? "\0" : key()))
        .setRangeEnd(bs(end(true))).setRevision(r);
    if (rnd.nextInt(3) == 0) {
      q.setLimit(1 + rnd.nextInt(4));
    }
    q.setCountOnly(rnd.nextInt(10) == 0).setKeysOnly(rnd.nextInt(10) == 0);
    RangeRequest req = q.build();
    try {
      RangeResponse got = kv.range(req);
      if (r > m.rev) {
        fail(context + ": read at future revision " + r + " of " + m.rev + " answered");
      }
      if (r != 0 && r < m.compactRev) {
        fail(context + ": read at " + r + " below compacted " + m.compactRev + " answered");
      }
      assertEquals(rangeIn(m, null, req), got, () -> context + " " + req);
    } catch (EtcdException e) {
      EtcdError expected = r > m.rev ? EtcdError.FUTURE_REV : r != 0 && r < m.compactRev ? EtcdError.COMPACTED : null;
      if (e.error() != expected) {
        throw new AssertionError(context + ": read at " + r + " failed with " + e.error(), e);
      }
    }
  }

  /** Every readable revision, whole key space, equals the model. */
  private void verifyAll() {
    assertEquals(m.rev, kv.currentRevision(), context);
    assertEquals(m.compactRev, kv.store().compactRevision(), context);
    for (long r = Math.max(1, m.compactRev); r <= m.rev; r++) {
      RangeResponse got = kv.all(r);
      List<KeyValue> want = new ArrayList<>();
      for (MKv x : m.at(r).values()) {
        want.add(x.proto());
      }
      assertEquals(want, got.getKvsList(), context + ": revision " + r);
    }
    if (m.compactRev > 1) {
      EtcdException e = org.junit.jupiter.api.Assertions.assertThrows(EtcdException.class,
          () -> kv.all(m.compactRev - 1));
      assertEquals(EtcdError.COMPACTED, e.error());
    }
  }

  private long expectedRows() {
    long c = m.compactRev;
    long rows = m.changes.stream().filter(ch -> ch.rev > c).count();
    return rows + (c >= 1 ? m.at(c).size() : 0);
  }

  @ParameterizedTest
  @ValueSource(longs = {11, 2024, 777777, 31337})
  void randomHistoriesAgreeWithTheModel(long seed) throws Exception {
    rnd = new Random(seed);
    for (int i = 0; i < KEYS; i++) {
      keySpace.add("k" + i);
    }
    m = new Model();
    kv = KvFixture.openNoFsync(dir);
    try {
      for (int i = 0; i < OPS; i++) {
        context = "seed " + seed + " op " + i + " (rev " + m.rev + ", compacted " + m.compactRev + ")";
        int c = rnd.nextInt(100);
        if (c < 35) {
          opPut();
        } else if (c < 45) {
          opDelete(false);
        } else if (c < 52) {
          opDelete(true);
        } else if (c < 90) {
          opTxn();
        } else if (c < 92) {
          opCompact();
        } else {
          randomRead();
        }
        randomRead();
        if (rnd.nextInt(300) == 0) {
          kv.reopen();
          verifyAll();
        }
      }
      verifyAll();
      // the generator reached every kind of outcome
      for (String k : List.of("put-ok", "put-KEY_NOT_FOUND", "delete-ok", "txn-ok", "txn-refused",
          "txn-KEY_NOT_FOUND", "compaction-ok")) {
        assertNotNull(stats.get(k), () -> "seed " + seed + " never produced " + k + ": " + stats);
      }
      for (CompletableFuture<Void> f : physical) {
        f.get(30, TimeUnit.SECONDS);
      }
      kv.reopen(); // waits for background compactions too
      verifyAll();
      assertEquals(expectedRows(), kv.rowCount(), "rows on disk after every compaction finished");
    } finally {
      kv.close();
    }
  }
}
