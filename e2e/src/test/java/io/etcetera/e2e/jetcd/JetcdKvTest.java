package io.etcetera.e2e.jetcd;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.cluster.MemberListResponse;
import io.etcd.jetcd.kv.DeleteResponse;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.PutResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.maintenance.StatusResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.GetOption.SortOrder;
import io.etcd.jetcd.options.GetOption.SortTarget;
import io.etcd.jetcd.options.PutOption;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The KV API through the real Java client jetcd 0.8.6 (Vert.x gRPC transport) against an Etcetera
 * member process: what a JVM application (and, for the txn and paging patterns, kube-apiserver)
 * relies on. Most tests share one member and use disjoint key prefixes; compaction and the request
 * size limit get a member of their own (compaction is store-wide, the limit is a start flag).
 *
 * <p>{@code -De2e.binary=etcd} runs the same test against the real etcd (the reference).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JetcdKvTest {

  private static final long RPC_TIMEOUT_SECONDS = 15;
  /** Etcetera by default; {@code -De2e.binary=etcd} runs the same expectations against the real etcd. */
  private static final Binary BINARY = Binary.fromSystemProperty();

  private Member member;
  private Client client;
  private KV kv;

  @BeforeAll
  void startMember() {
    Path work = Workdirs.fresh(Workdirs.classDir("JetcdKvTest").resolve("shared"));
    Ports.Address a = Ports.allocate();
    member = Member.start(BINARY, work.resolve("member"), a);
    client = Client.builder().endpoints(member.endpoint()).build();
    kv = client.getKVClient();
  }

  @AfterAll
  void stopMember() {
    try {
      if (client != null) client.close();
    } finally {
      if (member != null) member.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // put / get / delete

  @Test
  void putGetOverwriteTracksCreateModRevisionAndVersion() {
    ByteSequence k = bs("pgo/key");
    PutResponse p1 = await(kv.put(k, bs("v1")));
    long r1 = p1.getHeader().getRevision();
    assertFalse(p1.hasPrevKv(), "no prev kv was asked for");
    assertHeader(p1.getHeader());

    KeyValue kv1 = single(await(kv.get(k)));
    assertEquals("v1", str(kv1.getValue()));
    assertEquals(r1, kv1.getCreateRevision());
    assertEquals(r1, kv1.getModRevision());
    assertEquals(1, kv1.getVersion());
    assertEquals(0, kv1.getLease());

    PutResponse p2 = await(kv.put(k, bs("v2"), PutOption.builder().withPrevKV().build()));
    long r2 = p2.getHeader().getRevision();
    assertEquals(r1 + 1, r2, "a put bumps the store revision by exactly one");
    assertTrue(p2.hasPrevKv());
    assertEquals("v1", str(p2.getPrevKv().getValue()));
    assertEquals(r1, p2.getPrevKv().getModRevision());
    assertEquals(1, p2.getPrevKv().getVersion());

    GetResponse g2 = await(kv.get(k));
    KeyValue kv2 = single(g2);
    assertEquals("v2", str(kv2.getValue()));
    assertEquals(r1, kv2.getCreateRevision(), "overwrite keeps the create revision");
    assertEquals(r2, kv2.getModRevision());
    assertEquals(2, kv2.getVersion());
    assertTrue(g2.getHeader().getRevision() >= r2);
    assertFalse(g2.isMore());

    // the same value again is still a new revision and version
    long r3 = await(kv.put(k, bs("v2"))).getHeader().getRevision();
    assertEquals(r2 + 1, r3);
    KeyValue kv3 = single(await(kv.get(k)));
    assertEquals(3, kv3.getVersion());
    assertEquals(r3, kv3.getModRevision());

    GetResponse missing = await(kv.get(bs("pgo/missing")));
    assertEquals(0, missing.getCount());
    assertTrue(missing.getKvs().isEmpty());
    assertFalse(missing.isMore());
  }

  @Test
  void deleteReportsCountAndPrevKvs() {
    await(kv.put(bs("del/a"), bs("va")));
    await(kv.put(bs("del/b"), bs("vb")));
    long before = await(kv.put(bs("del/c"), bs("vc"))).getHeader().getRevision();

    DeleteResponse d1 = await(kv.delete(bs("del/a"), DeleteOption.builder().withPrevKV(true).build()));
    assertEquals(1, d1.getDeleted());
    assertEquals(1, d1.getPrevKvs().size());
    assertEquals("del/a", str(d1.getPrevKvs().get(0).getKey()));
    assertEquals("va", str(d1.getPrevKvs().get(0).getValue()));
    assertEquals(before + 1, d1.getHeader().getRevision(), "a delete bumps the revision");

    DeleteResponse none = await(kv.delete(bs("del/a"), DeleteOption.builder().withPrevKV(true).build()));
    assertEquals(0, none.getDeleted());
    assertTrue(none.getPrevKvs().isEmpty());
    assertEquals(before + 1, none.getHeader().getRevision(), "deleting nothing does not bump the revision");

    DeleteResponse noPrev = await(kv.delete(bs("del/b")));
    assertEquals(1, noPrev.getDeleted());
    assertTrue(noPrev.getPrevKvs().isEmpty(), "prev kvs only when asked for");

    await(kv.put(bs("del/d"), bs("vd")));
    DeleteResponse range = await(kv.delete(bs("del/"),
        DeleteOption.builder().isPrefix(true).withPrevKV(true).build()));
    assertEquals(2, range.getDeleted());
    assertEquals(List.of("del/c", "del/d"), keys(range.getPrevKvs()));
    assertEquals(List.of("vc", "vd"), values(range.getPrevKvs()));
    assertEquals(0, await(kv.get(bs("del/"), GetOption.builder().isPrefix(true).build())).getCount());

    // re-creating a deleted key starts a new generation: version 1, new create revision
    long rc = await(kv.put(bs("del/a"), bs("again"))).getHeader().getRevision();
    KeyValue again = single(await(kv.get(bs("del/a"))));
    assertEquals(1, again.getVersion());
    assertEquals(rc, again.getCreateRevision());
    assertEquals(rc, again.getModRevision());
  }

  // ---------------------------------------------------------------------------------------------
  // range options

  @Test
  void prefixAndKeysOnly() {
    await(kv.put(bs("pfx/b"), bs("vb")));
    await(kv.put(bs("pfx/a"), bs("va")));
    await(kv.put(bs("pfx/c"), bs("vc")));
    await(kv.put(bs("pfx"), bs("not-in-prefix")));   // "pfx" < "pfx/"
    await(kv.put(bs("pfx0"), bs("not-in-prefix")));  // "pfx0" is the prefix's range end
    await(kv.put(bs("pfx/"), bs("the-prefix-itself"))); // in the range [pfx/, pfx0)

    GetResponse all = await(kv.get(bs("pfx/"), GetOption.builder().isPrefix(true).build()));
    assertEquals(List.of("pfx/", "pfx/a", "pfx/b", "pfx/c"), keys(all.getKvs()), "key order, ascending");
    assertEquals(List.of("the-prefix-itself", "va", "vb", "vc"), values(all.getKvs()));
    assertEquals(4, all.getCount());
    assertFalse(all.isMore());

    GetResponse keysOnly = await(kv.get(bs("pfx/"), GetOption.builder().isPrefix(true).withKeysOnly(true).build()));
    assertEquals(List.of("pfx/", "pfx/a", "pfx/b", "pfx/c"), keys(keysOnly.getKvs()));
    for (KeyValue e : keysOnly.getKvs()) {
      assertTrue(e.getValue().isEmpty(), "keys-only returns no value for " + str(e.getKey()));
      assertTrue(e.getModRevision() > 0 && e.getCreateRevision() > 0 && e.getVersion() == 1,
          "keys-only still returns the metadata of " + str(e.getKey()));
    }
    assertEquals(4, keysOnly.getCount());

    // an explicit range [pfx/a, pfx/c) excludes its end
    GetResponse range = await(kv.get(bs("pfx/a"), GetOption.builder().withRange(bs("pfx/c")).build()));
    assertEquals(List.of("pfx/a", "pfx/b"), keys(range.getKvs()));
  }

  @Test
  void getAtRevision() {
    ByteSequence k = bs("atrev/k");
    long r1 = await(kv.put(k, bs("v1"))).getHeader().getRevision();
    long r2 = await(kv.put(k, bs("v2"))).getHeader().getRevision();
    await(kv.put(bs("atrev/other"), bs("o")));
    long r3 = await(kv.delete(k)).getHeader().getRevision();
    long r4 = await(kv.put(k, bs("v3"))).getHeader().getRevision();

    GetResponse at1 = await(kv.get(k, GetOption.builder().withRevision(r1).build()));
    KeyValue e1 = single(at1);
    assertEquals("v1", str(e1.getValue()));
    assertEquals(1, e1.getVersion());
    assertEquals(r1, e1.getModRevision());
    assertTrue(at1.getHeader().getRevision() >= r4,
        "the header carries the current store revision, not the requested one");

    KeyValue e2 = single(await(kv.get(k, GetOption.builder().withRevision(r2).build())));
    assertEquals("v2", str(e2.getValue()));
    assertEquals(2, e2.getVersion());
    assertEquals(r1, e2.getCreateRevision());

    // deleted at r3: nothing there at r3
    GetResponse at3 = await(kv.get(k, GetOption.builder().withRevision(r3).build()));
    assertEquals(0, at3.getCount());
    assertTrue(at3.getKvs().isEmpty());

    KeyValue e4 = single(await(kv.get(k, GetOption.builder().withRevision(r4).build())));
    assertEquals("v3", str(e4.getValue()));
    assertEquals(1, e4.getVersion(), "new generation after the delete");
    assertEquals(r4, e4.getCreateRevision());

    // a prefix read at a revision sees the keys as of then
    GetResponse prefixAt2 = await(kv.get(bs("atrev/"), GetOption.builder().isPrefix(true).withRevision(r2).build()));
    assertEquals(List.of("atrev/k"), keys(prefixAt2.getKvs()));
    assertEquals(1, prefixAt2.getCount());

    // a future revision is an error
    long current = await(kv.get(k)).getHeader().getRevision();
    Throwable err = failure(() -> kv.get(k, GetOption.builder().withRevision(current + 1000).build()));
    assertGrpcError(err, Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision");
  }

  @Test
  void limitReportsMoreAndTotalCount() {
    for (int i = 0; i < 5; i++) await(kv.put(bs("lim/" + i), bs("v" + i)));
    GetOption.Builder prefix = GetOption.builder().isPrefix(true);

    GetResponse two = await(kv.get(bs("lim/"), GetOption.builder().isPrefix(true).withLimit(2).build()));
    assertEquals(List.of("lim/0", "lim/1"), keys(two.getKvs()));
    assertTrue(two.isMore());
    assertEquals(5, two.getCount(), "count is the total in the range, not the page size");

    GetResponse four = await(kv.get(bs("lim/"), GetOption.builder().isPrefix(true).withLimit(4).build()));
    assertEquals(4, four.getKvs().size());
    assertTrue(four.isMore());
    assertEquals(5, four.getCount());

    GetResponse exact = await(kv.get(bs("lim/"), GetOption.builder().isPrefix(true).withLimit(5).build()));
    assertEquals(5, exact.getKvs().size());
    assertFalse(exact.isMore(), "limit == total: no more");
    assertEquals(5, exact.getCount());

    GetResponse over = await(kv.get(bs("lim/"), GetOption.builder().isPrefix(true).withLimit(100).build()));
    assertEquals(5, over.getKvs().size());
    assertFalse(over.isMore());

    GetResponse unlimited = await(kv.get(bs("lim/"), prefix.withLimit(0).build()));
    assertEquals(5, unlimited.getKvs().size(), "limit 0 means no limit");
    assertFalse(unlimited.isMore());
  }

  @Test
  void countOnly() {
    for (int i = 0; i < 7; i++) await(kv.put(bs("cnt/" + i), bs("v" + i)));
    GetResponse c = await(kv.get(bs("cnt/"), GetOption.builder().isPrefix(true).withCountOnly(true).build()));
    assertEquals(7, c.getCount());
    assertTrue(c.getKvs().isEmpty(), "count-only returns no kvs");
    assertFalse(c.isMore());

    GetResponse cl = await(kv.get(bs("cnt/"),
        GetOption.builder().isPrefix(true).withCountOnly(true).withLimit(3).build()));
    assertEquals(7, cl.getCount(), "count ignores the limit");
    assertTrue(cl.getKvs().isEmpty());

    GetResponse none = await(kv.get(bs("cnt-none/"), GetOption.builder().isPrefix(true).withCountOnly(true).build()));
    assertEquals(0, none.getCount());
  }

  @Test
  void sortByEveryTargetAndOrder() {
    // Built so that every target orders the four keys differently:
    //   key     a, b, c, d
    //   create  c, a, d, b   (creation order)
    //   version c=1, b=2, d=3, a=4
    //   mod     c, b, a, d   (last modification order)
    //   value   b="1", d="2", a="3", c="4"
    await(kv.put(bs("sort/c"), bs("4")));
    await(kv.put(bs("sort/a"), bs("x")));
    await(kv.put(bs("sort/d"), bs("x")));
    await(kv.put(bs("sort/b"), bs("x")));
    await(kv.put(bs("sort/a"), bs("x")));
    await(kv.put(bs("sort/b"), bs("1")));
    await(kv.put(bs("sort/a"), bs("x")));
    await(kv.put(bs("sort/a"), bs("3")));
    await(kv.put(bs("sort/d"), bs("x")));
    await(kv.put(bs("sort/d"), bs("2")));

    Map<SortTarget, List<String>> ascending = Map.of(
        SortTarget.KEY, List.of("a", "b", "c", "d"),
        SortTarget.CREATE, List.of("c", "a", "d", "b"),
        SortTarget.VERSION, List.of("c", "b", "d", "a"),
        SortTarget.MOD, List.of("c", "b", "a", "d"),
        SortTarget.VALUE, List.of("b", "d", "a", "c"));

    // sanity: the fixture really is what the comment says
    List<KeyValue> fixture = await(kv.get(bs("sort/"), GetOption.builder().isPrefix(true).build())).getKvs();
    assertEquals(List.of(4L, 2L, 1L, 3L), fixture.stream().map(KeyValue::getVersion).toList());

    for (SortTarget target : SortTarget.values()) {
      List<String> asc = ascending.get(target);
      assertNotNull(asc, "no expectation for " + target);
      List<String> desc = new ArrayList<>(asc);
      java.util.Collections.reverse(desc);
      for (SortOrder order : SortOrder.values()) {
        GetResponse r = await(kv.get(bs("sort/"),
            GetOption.builder().isPrefix(true).withSortField(target).withSortOrder(order).build()));
        // etcd: order NONE sorts by key for target KEY, and ascending for every other target
        List<String> expected = order == SortOrder.DESCEND ? desc : asc;
        assertEquals(prefixed("sort/", expected), keys(r.getKvs()), "sort by " + target + " " + order);
        assertEquals(4, r.getCount());
      }
    }

    // sort is applied before the limit: the two most recently modified keys
    GetResponse top2 = await(kv.get(bs("sort/"), GetOption.builder().isPrefix(true)
        .withSortField(SortTarget.MOD).withSortOrder(SortOrder.DESCEND).withLimit(2).build()));
    assertEquals(List.of("sort/d", "sort/a"), keys(top2.getKvs()));
    assertTrue(top2.isMore());
    assertEquals(4, top2.getCount());

    GetResponse last2ByKey = await(kv.get(bs("sort/"), GetOption.builder().isPrefix(true)
        .withSortField(SortTarget.KEY).withSortOrder(SortOrder.DESCEND).withLimit(2).build()));
    assertEquals(List.of("sort/d", "sort/c"), keys(last2ByKey.getKvs()));
    assertTrue(last2ByKey.isMore());
  }

  // ---------------------------------------------------------------------------------------------
  // transactions

  @Test
  void txnComparesOnValueVersionCreateAndModRevision() {
    ByteSequence k = bs("txn/k");
    long r1 = await(kv.put(k, bs("v1"))).getHeader().getRevision();
    long r2 = await(kv.put(k, bs("v2"))).getHeader().getRevision();

    // value: true branch
    TxnResponse t1 = await(kv.txn().If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.value(bs("v2"))))
        .Then(Op.put(k, bs("v3"), PutOption.DEFAULT)).Else(Op.get(k, GetOption.DEFAULT)).commit());
    assertTrue(t1.isSucceeded());
    assertEquals(1, t1.getPutResponses().size());
    assertTrue(t1.getGetResponses().isEmpty());
    long r3 = t1.getHeader().getRevision();
    assertEquals(r2 + 1, r3);
    assertEquals(r3, t1.getPutResponses().get(0).getHeader().getRevision(),
        "the put inside the txn carries the txn's revision in its own header");

    // value: false branch runs Else
    TxnResponse t2 = await(kv.txn().If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.value(bs("v2"))))
        .Then(Op.put(k, bs("nope"), PutOption.DEFAULT)).Else(Op.get(k, GetOption.DEFAULT)).commit());
    assertFalse(t2.isSucceeded());
    assertTrue(t2.getPutResponses().isEmpty());
    assertEquals(1, t2.getGetResponses().size());
    KeyValue seen = single(t2.getGetResponses().get(0));
    assertEquals("v3", str(seen.getValue()));
    assertEquals(r3, seen.getModRevision());
    assertEquals(3, seen.getVersion());
    assertEquals(r3, t2.getHeader().getRevision(), "a read-only txn does not bump the revision");

    // value: GREATER / LESS compare bytes
    assertTrue(cmp(k, Cmp.Op.GREATER, CmpTarget.value(bs("v2"))));
    assertFalse(cmp(k, Cmp.Op.LESS, CmpTarget.value(bs("v2"))));
    assertTrue(cmp(k, Cmp.Op.NOT_EQUAL, CmpTarget.value(bs("v1"))));

    // version
    assertTrue(cmp(k, Cmp.Op.EQUAL, CmpTarget.version(3)));
    assertFalse(cmp(k, Cmp.Op.EQUAL, CmpTarget.version(2)));
    assertTrue(cmp(k, Cmp.Op.GREATER, CmpTarget.version(2)));
    assertFalse(cmp(k, Cmp.Op.LESS, CmpTarget.version(3)));

    // create revision
    assertTrue(cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(r1)));
    assertFalse(cmp(k, Cmp.Op.NOT_EQUAL, CmpTarget.createRevision(r1)));
    assertTrue(cmp(k, Cmp.Op.LESS, CmpTarget.createRevision(r2)));

    // mod revision
    assertTrue(cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(r3)));
    assertFalse(cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(r2)));
    assertTrue(cmp(k, Cmp.Op.GREATER, CmpTarget.modRevision(r1)));
    assertFalse(cmp(k, Cmp.Op.LESS, CmpTarget.modRevision(r3)));

    // a missing key compares as version/create/mod 0, but a value compare on it always fails
    ByteSequence missing = bs("txn/missing");
    assertTrue(cmp(missing, Cmp.Op.EQUAL, CmpTarget.version(0)));
    assertTrue(cmp(missing, Cmp.Op.EQUAL, CmpTarget.createRevision(0)));
    assertTrue(cmp(missing, Cmp.Op.EQUAL, CmpTarget.modRevision(0)));
    assertFalse(cmp(missing, Cmp.Op.EQUAL, CmpTarget.value(bs(""))));
    assertFalse(cmp(missing, Cmp.Op.NOT_EQUAL, CmpTarget.value(bs("x"))));

    // compares are ANDed: one false compare selects Else
    TxnResponse and = await(kv.txn()
        .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.version(3)), new Cmp(k, Cmp.Op.EQUAL, CmpTarget.value(bs("v1"))))
        .Then(Op.put(k, bs("nope"), PutOption.DEFAULT))
        .Else(Op.put(bs("txn/else"), bs("e"), PutOption.DEFAULT), Op.get(k, GetOption.DEFAULT))
        .commit());
    assertFalse(and.isSucceeded());
    assertEquals(1, and.getPutResponses().size());
    assertEquals(1, and.getGetResponses().size());
    assertEquals(r3 + 1, and.getHeader().getRevision(), "the Else branch's put is a write");
    assertEquals("v3", str(single(await(kv.get(k))).getValue()));
    assertEquals("e", str(single(await(kv.get(bs("txn/else")))).getValue()));

    // several writes in one txn share one revision
    TxnResponse multi = await(kv.txn().If()
        .Then(Op.put(bs("txn/m1"), bs("1"), PutOption.DEFAULT), Op.put(bs("txn/m2"), bs("2"), PutOption.DEFAULT))
        .commit());
    assertTrue(multi.isSucceeded(), "an empty If succeeds");
    long rm = multi.getHeader().getRevision();
    assertEquals(r3 + 2, rm);
    assertEquals(rm, single(await(kv.get(bs("txn/m1")))).getModRevision());
    assertEquals(rm, single(await(kv.get(bs("txn/m2")))).getModRevision());
  }

  @Test
  void txnKubeApiserverCreateUpdateDeletePatterns() {
    ByteSequence k = bs("/registry/configmaps/default/cm1");

    // create: If(ModRevision(k) = 0) Then Put(k) Else ()
    TxnResponse create = await(kv.txn().If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(0)))
        .Then(Op.put(k, bs("data-1"), PutOption.DEFAULT)).Else().commit());
    assertTrue(create.isSucceeded());
    assertEquals(1, create.getPutResponses().size());
    long created = create.getPutResponses().get(0).getHeader().getRevision();
    assertEquals(create.getHeader().getRevision(), created);
    KeyValue afterCreate = single(await(kv.get(k)));
    assertEquals(created, afterCreate.getModRevision(), "the resourceVersion kube returns is the object's mod revision");
    assertEquals(created, afterCreate.getCreateRevision());

    // create again: AlreadyExists, i.e. not succeeded, no responses, no new revision
    TxnResponse again = await(kv.txn().If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(0)))
        .Then(Op.put(k, bs("data-x"), PutOption.DEFAULT)).Else().commit());
    assertFalse(again.isSucceeded());
    assertTrue(again.getPutResponses().isEmpty() && again.getGetResponses().isEmpty());
    assertEquals(created, again.getHeader().getRevision());

    // update: If(ModRevision(k) = seen) Then Put(k) Else Get(k)
    TxnResponse update = await(kv.txn().If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(created)))
        .Then(Op.put(k, bs("data-2"), PutOption.DEFAULT)).Else(Op.get(k, GetOption.DEFAULT)).commit());
    assertTrue(update.isSucceeded());
    long updated = update.getPutResponses().get(0).getHeader().getRevision();
    assertEquals(created + 1, updated);
    assertEquals(update.getHeader().getRevision(), updated);

    // a stale update (conflict): Else returns the current object for kube's retry
    TxnResponse stale = await(kv.txn().If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(created)))
        .Then(Op.put(k, bs("data-3"), PutOption.DEFAULT)).Else(Op.get(k, GetOption.DEFAULT)).commit());
    assertFalse(stale.isSucceeded());
    assertTrue(stale.getPutResponses().isEmpty());
    KeyValue current = single(stale.getGetResponses().get(0));
    assertEquals("data-2", str(current.getValue()));
    assertEquals(updated, current.getModRevision());
    assertEquals(created, current.getCreateRevision());
    assertEquals(2, current.getVersion());
    assertEquals(updated, stale.getHeader().getRevision());

    // delete: If(ModRevision(k) = seen) Then Delete(k, prevKv) Else Get(k)
    TxnResponse delete = await(kv.txn().If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(updated)))
        .Then(Op.delete(k, DeleteOption.builder().withPrevKV(true).build())).Else(Op.get(k, GetOption.DEFAULT))
        .commit());
    assertTrue(delete.isSucceeded());
    assertEquals(1, delete.getDeleteResponses().size());
    assertEquals(1, delete.getDeleteResponses().get(0).getDeleted());
    assertEquals("data-2", str(delete.getDeleteResponses().get(0).getPrevKvs().get(0).getValue()));
    assertEquals(updated + 1, delete.getHeader().getRevision());
    assertEquals(0, await(kv.get(k)).getCount());
  }

  // ---------------------------------------------------------------------------------------------
  // kube-apiserver's paginated list

  @Test
  void paginatedListLikeKubeApiserver() {
    String prefix = "/registry/pods/";
    ByteSequence rangeEnd = bs("/registry/pods0"); // clientv3.GetPrefixRangeEnd("/registry/pods/")
    List<String> all = new ArrayList<>();
    for (int i = 0; i < 250; i++) {
      String key = prefix + "ns-" + (i % 5) + "/pod-" + String.format("%03d", i);
      all.add(key);
    }
    // write in a shuffled (but deterministic) order: the list must come back in key order regardless
    List<String> writeOrder = new ArrayList<>(all);
    java.util.Collections.shuffle(writeOrder, new java.util.Random(42));
    for (String key : writeOrder) await(kv.put(bs(key), bs("spec-of-" + key)));
    await(kv.put(bs("/registry/podtemplates/default/t"), bs("outside the prefix")));
    all.sort(Comparator.naturalOrder());

    List<String> seen = new ArrayList<>();
    Set<String> seenSet = new HashSet<>();
    ByteSequence key = bs(prefix);
    long withRev = 0;
    int pages = 0;
    long expectedRemaining = 250;
    boolean more = true;
    String modifiedKey = all.get(150);        // on the second page
    String deletedKey = all.get(220);         // on the third page
    String addedKey = prefix + "ns-9/pod-new"; // sorts after everything
    while (more) {
      assertTrue(pages < 10, "pagination does not terminate");
      GetOption.Builder opt = GetOption.builder().withRange(rangeEnd).withLimit(100);
      if (withRev != 0) opt.withRevision(withRev);
      GetResponse page = await(kv.get(key, opt.build()));
      pages++;
      if (withRev == 0) withRev = page.getHeader().getRevision();
      assertEquals(expectedRemaining, page.getCount(),
          "page " + pages + ": count is the number of keys from this page's start to the range end");
      int expectedSize = (int) Math.min(100, expectedRemaining);
      assertEquals(expectedSize, page.getKvs().size(), "page " + pages + " size");
      more = page.isMore();
      assertEquals(expectedRemaining > 100, more, "page " + pages + " more");
      for (KeyValue e : page.getKvs()) {
        String k = str(e.getKey());
        assertTrue(seenSet.add(k), "key seen twice: " + k);
        seen.add(k);
        assertEquals("spec-of-" + k, str(e.getValue()), "value of " + k + " as of the first page's revision");
        assertTrue(e.getModRevision() <= withRev);
      }
      expectedRemaining -= page.getKvs().size();
      // kube: the next page starts right after the last key
      key = page.getKvs().get(page.getKvs().size() - 1).getKey().concat(ByteSequence.from(new byte[] {0}));

      if (pages == 1) {
        // concurrent writers between pages must not change what the list returns
        await(kv.put(bs(modifiedKey), bs("modified")));
        await(kv.delete(bs(deletedKey)));
        await(kv.put(bs(addedKey), bs("added")));
      }
    }
    assertEquals(3, pages);
    assertEquals(all, seen, "every key exactly once, in key order");

    // and a fresh (latest) list sees the writes
    GetResponse latest = await(kv.get(bs(prefix), GetOption.builder().withRange(rangeEnd).build()));
    assertEquals(250, latest.getCount()); // +1 added, -1 deleted
    assertTrue(keys(latest.getKvs()).contains(addedKey));
    assertFalse(keys(latest.getKvs()).contains(deletedKey));
  }

  // ---------------------------------------------------------------------------------------------
  // compaction, request size, maintenance, cluster

  @Test
  void getAtCompactedRevisionFails(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    try (Member m = Member.start(BINARY, work.resolve("member"), a);
        Client c = Client.builder().endpoints(m.endpoint()).build()) {
      KV ckv = c.getKVClient();
      ByteSequence k = bs("cmp/k");
      long r1 = await(ckv.put(k, bs("v1"))).getHeader().getRevision();
      long r2 = await(ckv.put(k, bs("v2"))).getHeader().getRevision();
      long r3 = await(ckv.put(k, bs("v3"))).getHeader().getRevision();

      await(ckv.compact(r2));

      Throwable err = failure(() -> ckv.get(k, GetOption.builder().withRevision(r1).build()));
      // what jetcd 0.8.6 really does for a unary KV error: the gRPC status exception itself,
      // not mapped to io.etcd.jetcd.common.exception.CompactedException / EtcdException
      assertInstanceOf(StatusRuntimeException.class, err, "jetcd surfaces the gRPC status exception");
      assertTrue(err.getMessage().contains("etcdserver: mvcc: required revision has been compacted"), err.getMessage());
      assertGrpcError(err, Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted");

      // the compaction revision itself and later ones are still readable
      assertEquals("v2", str(single(await(ckv.get(k, GetOption.builder().withRevision(r2).build()))).getValue()));
      assertEquals("v3", str(single(await(ckv.get(k, GetOption.builder().withRevision(r3).build()))).getValue()));
      assertEquals("v3", str(single(await(ckv.get(k))).getValue()));

      // compacting again at or below the compacted revision, or beyond the current one, fails
      assertGrpcError(failure(() -> ckv.compact(r2)), Status.Code.OUT_OF_RANGE,
          "etcdserver: mvcc: required revision has been compacted");
      assertGrpcError(failure(() -> ckv.compact(r3 + 100)), Status.Code.OUT_OF_RANGE,
          "etcdserver: mvcc: required revision is a future revision");
      // a txn reading at a compacted revision fails the same way
      assertGrpcError(failure(() -> ckv.txn().Then(Op.get(k, GetOption.builder().withRevision(r1).build())).commit()),
          Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted");
    }
  }

  @Test
  void requestTooLarge(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    try (Member m = Member.start(BINARY, work.resolve("member"), a, "--max-request-bytes=1024");
        Client c = Client.builder().endpoints(m.endpoint()).build()) {
      KV ckv = c.getKVClient();
      ByteSequence small = ByteSequence.from(new byte[512]);
      await(ckv.put(bs("big/ok"), small));
      assertEquals(512, single(await(ckv.get(bs("big/ok")))).getValue().size(), "a request under the limit is served");

      byte[] payload = new byte[2048];
      Arrays.fill(payload, (byte) 'x');
      Throwable err = failure(() -> ckv.put(bs("big/too-large"), ByteSequence.from(payload)));
      assertTrue(String.valueOf(err.getMessage()).contains("etcdserver: request is too large"), String.valueOf(err));
      assertGrpcError(err, Status.Code.INVALID_ARGUMENT, "etcdserver: request is too large");
      assertEquals(0, await(ckv.get(bs("big/too-large"))).getCount(), "the rejected put wrote nothing");

      // the same limit applies to a txn carrying the value
      Throwable txnErr = failure(() -> ckv.txn().Then(Op.put(bs("big/txn"), ByteSequence.from(payload), PutOption.DEFAULT)).commit());
      assertGrpcError(txnErr, Status.Code.INVALID_ARGUMENT, "etcdserver: request is too large");

      // the member keeps serving
      await(ckv.put(bs("big/after"), bs("fine")));
      assertEquals("fine", str(single(await(ckv.get(bs("big/after")))).getValue()));
    }
  }

  @Test
  void maintenanceStatusAndMemberList() {
    StatusResponse st = await(client.getMaintenanceClient().statusMember(member.endpoint()));
    // Etcetera reports etcd 3.5; the reference binary installed for the differential runs is etcd 3.4
    String expectedVersion = BINARY == Binary.ETCETERA ? "3.5." : "3.4.";
    assertTrue(st.getVersion().startsWith(expectedVersion), "version " + st.getVersion());
    long memberId = st.getHeader().getMemberId();
    assertTrue(memberId != 0, "member id in the header");
    assertEquals(memberId, st.getLeader(), "a single member is its own leader");
    assertTrue(st.getHeader().getClusterId() != 0);
    assertTrue(st.getRaftTerm() >= 1, "raft term " + st.getRaftTerm());
    assertTrue(st.getDbSize() > 0, "db size " + st.getDbSize());
    assertFalse(st.isLearner());
    assertTrue(st.getErrorList().isEmpty(), "errors " + st.getErrorList());

    MemberListResponse ml = await(client.getClusterClient().listMember());
    assertEquals(1, ml.getMembers().size(), "one member");
    io.etcd.jetcd.cluster.Member only = ml.getMembers().get(0);
    assertEquals(memberId, only.getId());
    assertEquals(member.name(), only.getName());
    assertEquals(List.of(URI.create(member.endpoint())), only.getClientURIs());
    assertEquals(List.of(URI.create(member.peerUrl())), only.getPeerURIs());
    assertFalse(only.isLearner());
    assertEquals(st.getHeader().getClusterId(), ml.getHeader().getClusterId());
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  private boolean cmp(ByteSequence key, Cmp.Op op, CmpTarget<?> target) {
    TxnResponse r = await(kv.txn().If(new Cmp(key, op, target)).Then().Else().commit());
    return r.isSucceeded();
  }

  private static void assertHeader(io.etcd.jetcd.Response.Header h) {
    assertTrue(h.getClusterId() != 0, "cluster id");
    assertTrue(h.getMemberId() != 0, "member id");
    assertTrue(h.getRaftTerm() >= 1, "raft term");
    assertTrue(h.getRevision() >= 1, "revision");
  }

  private static void assertGrpcError(Throwable err, Status.Code code, String description) {
    Status s = Status.fromThrowable(err);
    assertEquals(code, s.getCode(), "gRPC status of " + err);
    assertEquals(description, s.getDescription(), "gRPC description of " + err);
  }

  static <T> T await(CompletableFuture<T> f) {
    try {
      return f.get(RPC_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("request failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      f.cancel(true);
      throw new AssertionError("no response within " + RPC_TIMEOUT_SECONDS + " s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The exception the request completes with (fails the test if it succeeds). */
  static Throwable failure(Supplier<? extends CompletableFuture<?>> request) {
    CompletableFuture<?> f = request.get();
    try {
      Object r = f.get(RPC_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      return fail("expected the request to fail, but it returned " + r);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (TimeoutException e) {
      f.cancel(true);
      throw new AssertionError("no response within " + RPC_TIMEOUT_SECONDS + " s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static KeyValue single(GetResponse r) {
    assertEquals(1, r.getKvs().size(), "expected exactly one kv, got " + keys(r.getKvs()));
    assertEquals(1, r.getCount());
    return r.getKvs().get(0);
  }

  static ByteSequence bs(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  static String str(ByteSequence b) {
    return b.toString(UTF_8);
  }

  private static List<String> keys(List<KeyValue> kvs) {
    return kvs.stream().map(e -> str(e.getKey())).toList();
  }

  private static List<String> values(List<KeyValue> kvs) {
    return kvs.stream().map(e -> str(e.getValue())).toList();
  }

  private static List<String> prefixed(String prefix, List<String> names) {
    return names.stream().map(n -> prefix + n).toList();
  }
}
