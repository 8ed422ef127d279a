package io.etcetera.mvcc.lease;

import static io.etcetera.mvcc.testutil.ApplyFixture.MIN_TTL;
import static io.etcetera.mvcc.testutil.ApplyFixture.grantReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.putReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.revokeReq;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.LeaseGrantResponse;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.mvcc.testutil.ApplyFixture;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksIterator;

/** LeaseGrant as etcd's lessor applies it, and the lease rows on disk. */
class LeaseGrantTest {
  @TempDir
  Path dir;
  ApplyFixture fx;

  @BeforeEach
  void open() {
    fx = ApplyFixture.openWithoutHub(dir);
    fx.put("a", "1"); // 2
  }

  @AfterEach
  void close() {
    fx.close();
  }

  private int leaseRows() {
    int n = 0;
    try (RocksIterator it = fx.backend().leaseIterator()) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        n++;
      }
    }
    return n;
  }

  @Test
  void aGrantAnswersItsIdAndTtlAtTheCurrentRevisionWithoutWritingARevision() {
    LeaseGrantResponse r = fx.grant(5, 10);
    assertEquals(5, r.getID());
    assertEquals(10, r.getTTL());
    assertEquals(2, r.getHeader().getRevision());
    assertEquals(2, fx.revision());
    assertTrue(fx.lessor().exists(5));
    assertEquals(10, fx.lessor().lookup(5).ttl());
    assertEquals(1, leaseRows());
  }

  @Test
  void leaseIdZeroIsLeaseNotFoundAsEtcdsLessor() {
    EtcdException e = fx.applyExpectingError(grantReq(0, 10));
    assertEquals(EtcdError.LEASE_NOT_FOUND, e.error());
    assertFalse(fx.lessor().exists(0));
    assertEquals(0, leaseRows());
  }

  @Test
  void aTtlBelowTheMinimumIsRaisedToIt() {
    assertEquals(MIN_TTL, fx.grant(1, 1).getTTL());
    assertEquals(MIN_TTL, fx.grant(2, 0).getTTL());
    assertEquals(MIN_TTL, fx.grant(3, -7).getTTL());
    assertEquals(MIN_TTL + 1, fx.grant(4, MIN_TTL + 1).getTTL());
    assertEquals(MIN_TTL, fx.lessor().lookup(1).ttl());
  }

  @Test
  void aTtlAboveTheMaximumIsTooLarge() {
    EtcdException e = fx.applyExpectingError(grantReq(1, Lessor.MAX_TTL + 1));
    assertEquals(EtcdError.LEASE_TTL_TOO_LARGE, e.error());
    assertFalse(fx.lessor().exists(1));
    assertEquals(Lessor.MAX_TTL, fx.grant(2, Lessor.MAX_TTL).getTTL());
    assertEquals(1, leaseRows());
  }

  @Test
  void anExistingIdIsLeaseExistAndKeepsTheFirstLease() {
    fx.grant(7, 10);
    EtcdException e = fx.applyExpectingError(grantReq(7, 20));
    assertEquals(EtcdError.LEASE_EXIST, e.error());
    assertEquals(10, fx.lessor().lookup(7).ttl());
    fx.reopen();
    assertEquals(10, fx.lessor().lookup(7).ttl());
  }

  @Test
  void negativeIdsAreLeasesToo() {
    assertEquals(-3, fx.grant(-3, 10).getID());
    fx.put("k", "v", -3);
    fx.reopen();
    assertTrue(fx.lessor().exists(-3));
    assertEquals(List.of(io.etcetera.mvcc.testutil.Req.bs("k")), fx.lessor().lookup(-3).keys());
  }

  @Test
  void grantsAndRevokesSurviveAReopen() {
    fx.grant(1, 10);
    fx.grant(2, 1); // stored with the minimum TTL
    fx.grant(3, 30);
    fx.revoke(3);
    fx.reopen();
    assertTrue(fx.lessor().exists(1));
    assertTrue(fx.lessor().exists(2));
    assertFalse(fx.lessor().exists(3));
    assertEquals(10, fx.lessor().lookup(1).ttl());
    assertEquals(MIN_TTL, fx.lessor().lookup(2).ttl());
    assertNull(fx.lessor().lookup(3));
    assertEquals(2, leaseRows());
    // and they still work after it
    EtcdException e = fx.applyExpectingError(grantReq(1, 5));
    assertEquals(EtcdError.LEASE_EXIST, e.error());
    fx.revoke(1);
    fx.reopen();
    assertFalse(fx.lessor().exists(1));
    assertEquals(1, leaseRows());
  }

  @Test
  void aGroupCommitGrantsAndRevokesInRequestOrder() {
    List<Object> out = fx.applyGroup(List.of(
        grantReq(1, 10),
        putReq("k", "v", 1), // sees the grant before it
        grantReq(1, 10), // exists by now
        revokeReq(1),
        putReq("k2", "v", 1), // revoked by now
        grantReq(2, 10)));
    assertEquals(1, ((LeaseGrantResponse) ((Applied) out.get(0)).response()).getID());
    assertInstanceOf(Applied.class, out.get(1));
    assertEquals(EtcdError.LEASE_EXIST, ((EtcdException) out.get(2)).error());
    assertInstanceOf(Applied.class, out.get(3));
    assertEquals(EtcdError.LEASE_NOT_FOUND, ((EtcdException) out.get(4)).error());
    assertInstanceOf(Applied.class, out.get(5));
    assertFalse(fx.lessor().exists(1));
    assertTrue(fx.lessor().exists(2));
    assertEquals(4, fx.revision()); // the put at 3, the revoke's delete of k at 4
    fx.reopen();
    assertFalse(fx.lessor().exists(1));
    assertTrue(fx.lessor().exists(2));
    assertEquals(1, leaseRows());
  }

  @Test
  void aGrantWhereNotPrimaryNeverExpiresAndWherePrimaryCountsDown() {
    Lessor l = fx.lessor();
    fx.grant(1, 10);
    fx.ticker.advanceSeconds(1_000_000);
    assertEquals(10, l.remainingSeconds(l.lookup(1)));
    l.promote();
    fx.grant(2, 10);
    fx.ticker.advanceMillis(2500);
    assertEquals(7, l.remainingSeconds(l.lookup(2)));
  }

  @Test
  void theLargestTtlDoesNotExpireAtOnce() {
    Lessor l = fx.lessor();
    l.promote();
    fx.grant(1, Lessor.MAX_TTL);
    fx.ticker.advanceSeconds(365L * 24 * 3600);
    assertEquals(List.of(), l.expired(10));
    assertTrue(l.remainingSeconds(l.lookup(1)) > Lessor.MAX_TTL - 365L * 24 * 3600 - 1);
  }
}
