package io.etcetera.mvcc.lease;

import static io.etcetera.mvcc.testutil.ApplyFixture.revokeReq;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.testutil.ApplyFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Local expiry with a fake ticker: primary only, keep-alives, the expiry loop's view, time-to-live. */
class LeaseExpiryTest {
  @TempDir
  Path dir;
  ApplyFixture fx;
  Lessor lessor;

  @BeforeEach
  void open() {
    fx = ApplyFixture.openWithoutHub(dir);
    lessor = fx.lessor();
  }

  @AfterEach
  void close() {
    fx.close();
  }

  private long remaining(long id) {
    return lessor.remainingSeconds(lessor.lookup(id));
  }

  @Test
  void whereNotPrimaryNothingEverExpires() {
    fx.grant(1, 5);
    fx.ticker.advanceSeconds(1_000_000);
    assertEquals(List.of(), lessor.expired(100));
    assertEquals(5, remaining(1));
    assertFalse(lessor.isPrimary());
  }

  @Test
  void promoteGivesEveryLeaseAFullTtlFromThen() {
    fx.grant(1, 10);
    fx.grant(2, 20);
    fx.ticker.advanceSeconds(500);
    lessor.promote();
    assertTrue(lessor.isPrimary());
    assertEquals(10, remaining(1));
    assertEquals(20, remaining(2));
    fx.ticker.advanceSeconds(9);
    assertEquals(List.of(), lessor.expired(100));
    fx.ticker.advanceSeconds(1);
    assertEquals(List.of(1L), lessor.expired(100));
    assertEquals(List.of(), lessor.expired(100)); // 1 is being revoked: not again at once
    fx.ticker.advanceSeconds(10);
    assertEquals(List.of(1L, 2L), lessor.expired(100)); // 1's retry window is over
  }

  @Test
  void aGrantWherePrimaryStartsCountingAtOnce() {
    lessor.promote();
    fx.grant(1, 3);
    fx.ticker.advanceMillis(2999);
    assertEquals(List.of(), lessor.expired(10));
    fx.ticker.advanceMillis(1);
    assertEquals(List.of(1L), lessor.expired(10));
  }

  @Test
  void remainingSecondsAreTruncatedAndNeverNegative() {
    lessor.promote();
    fx.grant(1, 10);
    assertEquals(10, remaining(1));
    fx.ticker.advanceNanos(1);
    assertEquals(9, remaining(1)); // 9.999999999 s
    fx.ticker.advanceNanos(8_999_999_998L);
    assertEquals(1, remaining(1)); // 1.000000001 s
    fx.ticker.advanceNanos(1);
    assertEquals(1, remaining(1)); // exactly 1 s
    fx.ticker.advanceNanos(1);
    assertEquals(0, remaining(1)); // 0.999999999 s
    fx.ticker.advanceNanos(999_999_999L);
    assertEquals(0, remaining(1)); // at the deadline
    fx.ticker.advanceSeconds(5);
    assertEquals(0, remaining(1)); // past it
  }

  @Test
  void renewMovesTheDeadlineAndAnswersTheTtl() throws Exception {
    lessor.promote();
    fx.grant(1, 10);
    fx.ticker.advanceSeconds(8);
    assertEquals(2, remaining(1));
    CompletableFuture<Long> r = lessor.renew(1);
    assertTrue(r.isDone());
    assertEquals(10L, r.get());
    assertEquals(10, remaining(1));
    fx.ticker.advanceSeconds(9);
    assertEquals(List.of(), lessor.expired(10));
    fx.ticker.advanceSeconds(1);
    assertEquals(List.of(1L), lessor.expired(10));
  }

  @Test
  void renewOfAnUnknownLeaseIsMinusOne() throws Exception {
    assertEquals(-1L, lessor.renew(77).get());
    lessor.promote();
    assertEquals(-1L, lessor.renew(77).get());
  }

  @Test
  void renewOfAnExpiredLeaseAnswersMinusOneOnlyOnceTheRevokeIsCommitted() throws Exception {
    lessor.promote();
    fx.grant(1, 5);
    fx.put("k", "v", 1);
    fx.ticker.advanceSeconds(6);
    assertEquals(List.of(1L), lessor.expired(10));
    CompletableFuture<Long> r = lessor.renew(1);
    assertFalse(r.isDone(), "an expired lease being revoked is not renewed");
    assertEquals(0, remaining(1));
    List<Object> results = new ArrayList<>();
    ApplyBatch batch = fx.applyUncommitted(List.of(revokeReq(1)), results);
    assertFalse(r.isDone(), "answered before the revoke is durable");
    fx.commit(batch);
    assertTrue(r.isDone());
    assertEquals(-1L, r.get());
    assertEquals(-1L, lessor.renew(1).get());
    assertFalse(lessor.exists(1));
  }

  @Test
  void anExpiredLeaseIsOfferedAgainOnlyAfterTheRetryWindow() {
    lessor.promote();
    fx.grant(1, 5);
    fx.grant(2, 5);
    fx.ticker.advanceSeconds(5);
    assertEquals(List.of(1L, 2L), lessor.expired(10));
    assertEquals(List.of(), lessor.expired(10));
    fx.ticker.advanceMillis(2999);
    assertEquals(List.of(), lessor.expired(10));
    fx.ticker.advanceMillis(1);
    assertEquals(List.of(1L, 2L), lessor.expired(10)); // the revoke did not go through: propose again
  }

  @Test
  void expiredReturnsAtMostMaxLeasesAndTheRestNextTime() {
    lessor.promote();
    for (long id = 1; id <= 5; id++) {
      fx.grant(id, 5);
    }
    fx.ticker.advanceSeconds(5);
    List<Long> first = lessor.expired(2);
    assertEquals(2, first.size());
    List<Long> second = lessor.expired(10);
    assertEquals(3, second.size());
    List<Long> all = new ArrayList<>(first);
    all.addAll(second);
    all.sort(null);
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), all);
  }

  @Test
  void demoteSuspendsExpiryAndPromoteRestartsIt() {
    lessor.promote();
    fx.grant(1, 5);
    fx.ticker.advanceSeconds(6);
    assertEquals(List.of(1L), lessor.expired(10));
    lessor.demote();
    assertEquals(List.of(), lessor.expired(10));
    assertEquals(5, remaining(1));
    fx.ticker.advanceSeconds(100);
    lessor.promote();
    assertEquals(5, remaining(1));
    assertEquals(List.of(), lessor.expired(10), "a full TTL after the promotion");
    fx.ticker.advanceSeconds(5);
    assertEquals(List.of(1L), lessor.expired(10), "the retry window was reset by the demotion");
  }

  @Test
  void leasesAreListedSoonestExpiryFirst() {
    lessor.promote();
    fx.grant(3, 30);
    fx.grant(1, 10);
    fx.grant(2, 20);
    fx.grant(4, 10);
    List<Long> ids = lessor.leases().stream().map(Lease::id).toList();
    assertEquals(List.of(1L, 4L, 2L, 3L), ids);
  }

  @Test
  void recoveredLeasesWaitForAPromotionBeforeCounting() {
    lessor.promote();
    fx.grant(1, 5);
    fx.ticker.advanceSeconds(4);
    fx.reopen();
    lessor = fx.lessor();
    fx.ticker.advanceSeconds(100);
    assertEquals(List.of(), lessor.expired(10));
    assertEquals(5, remaining(1));
    lessor.promote();
    fx.ticker.advanceSeconds(4);
    assertEquals(List.of(), lessor.expired(10));
    assertEquals(1, remaining(1));
  }

  // ---- keep-alives reaching a member that does not count expiry

  @Test
  void aRenewWhereNotPrimaryNeverWaitsForARevocationThatCannotCome() {
    // not primary: nobody here will propose the revocation, so a keep-alive must not wait for one
    // (etcd's Renew answers ErrNotPrimary on a follower and never refreshes its deadline)
    fx.grant(1, 5);
    lessor.renew(1);
    fx.ticker.advanceSeconds(6);
    assertEquals(List.of(), lessor.expired(10));
    CompletableFuture<Long> r = lessor.renew(1);
    assertTrue(r.isDone(), "a keep-alive on a non-primary member hangs until the lease is revoked");
  }

  @Test
  void aRenewWhereNotPrimaryLeavesTheFullTtl() {
    fx.grant(1, 10);
    lessor.renew(1);
    fx.ticker.advanceSeconds(4);
    assertEquals(10, remaining(1), "remainingSeconds: its full TTL where not primary");
  }

  @Test
  void aRenewWaitingForARevocationIsAnsweredWhenTheMemberIsDemoted() {
    // etcd's Renew returns ErrNotPrimary when the lessor is demoted while it waits (demotec)
    lessor.promote();
    fx.grant(1, 5);
    fx.ticker.advanceSeconds(6);
    CompletableFuture<Long> r = lessor.renew(1);
    assertFalse(r.isDone());
    lessor.demote();
    assertTrue(r.isDone(), "the keep-alive waits for a revocation this member will no longer propose");
  }
}
