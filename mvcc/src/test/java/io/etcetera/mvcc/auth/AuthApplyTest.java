package io.etcetera.mvcc.auth;

import static io.etcetera.mvcc.auth.AuthReqs.authenticate;
import static io.etcetera.mvcc.auth.AuthReqs.changePassword;
import static io.etcetera.mvcc.auth.AuthReqs.disable;
import static io.etcetera.mvcc.auth.AuthReqs.enable;
import static io.etcetera.mvcc.auth.AuthReqs.grantPermission;
import static io.etcetera.mvcc.auth.AuthReqs.grantRole;
import static io.etcetera.mvcc.auth.AuthReqs.revokePermission;
import static io.etcetera.mvcc.auth.AuthReqs.revokeRole;
import static io.etcetera.mvcc.auth.AuthReqs.roleAdd;
import static io.etcetera.mvcc.auth.AuthReqs.roleDelete;
import static io.etcetera.mvcc.auth.AuthReqs.roleGet;
import static io.etcetera.mvcc.auth.AuthReqs.roleList;
import static io.etcetera.mvcc.auth.AuthReqs.status;
import static io.etcetera.mvcc.auth.AuthReqs.userAdd;
import static io.etcetera.mvcc.auth.AuthReqs.userAddNoPassword;
import static io.etcetera.mvcc.auth.AuthReqs.userDelete;
import static io.etcetera.mvcc.auth.AuthReqs.userGet;
import static io.etcetera.mvcc.auth.AuthReqs.userList;
import static io.etcetera.mvcc.auth.AuthRig.perm;
import static io.etcetera.mvcc.testutil.ApplyFixture.deleteReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.grantReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.putReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.revokeReq;
import static io.etcetera.mvcc.testutil.Req.bs;
import static io.etcetera.mvcc.testutil.Req.op;
import static io.etcetera.mvcc.testutil.Req.raft;
import static io.etcetera.mvcc.testutil.Req.txn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.authpb.Permission.Type;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.AuthRoleGetResponse;
import io.etcetera.api.etcdserverpb.AuthRoleListResponse;
import io.etcetera.api.etcdserverpb.AuthStatusResponse;
import io.etcetera.api.etcdserverpb.AuthUserAddResponse;
import io.etcetera.api.etcdserverpb.AuthUserGetResponse;
import io.etcetera.api.etcdserverpb.AuthUserListResponse;
import io.etcetera.api.etcdserverpb.AuthenticateResponse;
import io.etcetera.api.etcdserverpb.Compare.CompareResult;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.PutResponse;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.mvcc.kv.RangeQuery;
import io.etcetera.mvcc.testutil.ApplyFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The applier with auth enabled: every entry checked against the identity in its header, as etcd's authApplierV3. */
class AuthApplyTest {
  @TempDir
  Path dir;
  ApplyFixture fx;

  @BeforeEach
  void open() {
    fx = ApplyFixture.open(dir);
    fx.apply(userAdd("root", "rootpw"));
    fx.apply(grantRole("root", "root"));
    fx.apply(roleAdd("rw"));
    fx.apply(grantPermission("rw", perm(Type.READWRITE, "foo", "fop")));
    fx.apply(roleAdd("ro"));
    fx.apply(grantPermission("ro", perm(Type.READ, "ro/", "ro0")));
    fx.apply(roleAdd("wo"));
    fx.apply(grantPermission("wo", perm(Type.WRITE, "wo/", "wo0")));
    fx.apply(roleAdd("other"));
    fx.apply(userAdd("alice", "alicepw"));
    fx.apply(grantRole("alice", "rw"));
    fx.apply(grantRole("alice", "ro"));
    fx.apply(grantRole("alice", "wo"));
    fx.apply(userAdd("bob", "bobpw"));
    fx.apply(userAddNoPassword("carol"));
    fx.apply(enable());
    assertTrue(fx.auth().isEnabled());
    as("root", putReq("bar", "1"));
    as("root", putReq("foo/0", "0"));
    as("root", putReq("ro/0", "0"));
  }

  @AfterEach
  void close() {
    fx.close();
  }

  // ---- helpers

  private long authRev() {
    return fx.auth().revision();
  }

  /** Applies {@code req} as {@code user} at the current auth revision. */
  private Applied as(String user, InternalRaftRequest req) {
    return fx.apply(ApplyFixture.as(user, authRev(), req));
  }

  /** {@code req} (header already set, or none) must fail with {@code error} and change nothing. */
  private void refused(EtcdError error, InternalRaftRequest req) {
    long rev = fx.revision();
    long auth = authRev();
    AuthState state = fx.auth().state();
    EtcdException e = fx.applyExpectingError(req);
    assertEquals(error, e.error(), e.getMessage());
    assertEquals(error.message(), e.getMessage());
    assertEquals(rev, fx.revision(), "the key-value store did not change");
    assertEquals(auth, authRev(), "the auth revision did not change");
    assertEquals(state, fx.auth().state(), "the auth state did not change");
  }

  private void refusedAs(EtcdError error, String user, InternalRaftRequest req) {
    refused(error, ApplyFixture.as(user, authRev(), req));
  }

  private RangeResponse get(String key) {
    return RangeQuery.execute(fx.store()::range, Req.range(key).build());
  }

  private String value(String key) {
    RangeResponse r = get(key);
    return r.getKvsCount() == 0 ? null : Req.str(r.getKvs(0).getValue());
  }

  // ---- key-value entries

  @Test
  void putNeedsWriteOnItsKey() {
    long rev = fx.revision();
    PutResponse ok = (PutResponse) as("alice", putReq("foo/1", "a")).response();
    assertEquals(rev + 1, ok.getHeader().getRevision());
    assertEquals("a", value("foo/1"));
    as("alice", putReq("wo/1", "w")); // write-only is enough for a put
    assertEquals("w", value("wo/1"));

    refusedAs(EtcdError.PERMISSION_DENIED, "alice", putReq("bar", "2"));
    assertEquals("1", value("bar"));
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", putReq("ro/1", "x"));
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", putReq("fop", "x"));
    refusedAs(EtcdError.PERMISSION_DENIED, "bob", putReq("foo/1", "b"));
    assertEquals("a", value("foo/1"));
    as("root", putReq("anything", "r"));
  }

  @Test
  void identityAndRevisionOfTheHeader() {
    refused(EtcdError.USER_EMPTY, putReq("foo/1", "x")); // no header at all
    refused(EtcdError.USER_EMPTY, ApplyFixture.as("alice", 0, putReq("foo/1", "x")));
    refused(EtcdError.AUTH_OLD_REVISION, ApplyFixture.as("alice", authRev() - 1, putReq("foo/1", "x")));
    refused(EtcdError.AUTH_OLD_REVISION, ApplyFixture.as("root", 1, putReq("foo/1", "x")));
    refusedAs(EtcdError.PERMISSION_DENIED, "ghost", putReq("foo/1", "x"));
    refusedAs(EtcdError.PERMISSION_DENIED, "", putReq("foo/1", "x"));
    assertNull(value("foo/1"));
    // a change of the auth store makes the earlier identity stale
    long before = authRev();
    as("root", roleAdd("new-role"));
    refused(EtcdError.AUTH_OLD_REVISION, ApplyFixture.as("alice", before, putReq("foo/1", "x")));
  }

  @Test
  void prevKvNeedsReadToo() {
    refusedAs(EtcdError.PERMISSION_DENIED, "alice",
        raft(Req.putBuilder("wo/1").setValue(bs("x")).setPrevKv(true).build()));
    PutResponse p = (PutResponse) as("alice", raft(Req.putBuilder("foo/0").setValue(bs("1")).setPrevKv(true).build()))
        .response();
    assertEquals("0", Req.str(p.getPrevKv().getValue()));
  }

  @Test
  void deleteNeedsWriteOnTheWholeRange() {
    as("alice", putReq("foo/1", "1"));
    as("alice", putReq("wo/1", "1"));
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", deleteReq("a", "z"));
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", deleteReq("bar"));
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", deleteReq("ro/0"));
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", deleteReq("foo", "\0"));
    refusedAs(EtcdError.PERMISSION_DENIED, "alice",
        raft(Req.delete("wo/", "wo0").toBuilder().setPrevKv(true).build()));
    assertEquals("1", value("bar"));
    assertEquals("1", value("wo/1"));
    as("alice", deleteReq("wo/", "wo0")); // without prev_kv write is enough
    assertNull(value("wo/1"));
    as("alice", deleteReq("foo", "fop"));
    assertNull(value("foo/0"));
    assertNull(value("foo/1"));
  }

  @Test
  void txnNeedsReadOnComparesAndTheRightsOfBothBranches() {
    var allowed = txn().addCompare(Req.version("foo/0", CompareResult.GREATER, 0))
        .addSuccess(op(Req.put("foo/1", "s"))).addFailure(op(Req.range("ro/0")));
    // compare on a key alice cannot read
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", raft(txn().addCompare(Req.version("bar", CompareResult.GREATER, 0))
        .addSuccess(op(Req.put("foo/1", "s"))).build()));
    // compare on a key alice can only write
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", raft(txn().addCompare(Req.version("wo/1", CompareResult.EQUAL, 0))
        .build()));
    // the failure branch is checked though the success branch would run
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", raft(allowed.clone().addFailure(op(Req.put("bar", "f"))).build()));
    // a range op needs read
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", raft(allowed.clone().addSuccess(op(Req.range("wo/1"))).build()));
    // a delete op needs write on its range
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", raft(allowed.clone().addSuccess(op(Req.delete("a", "z"))).build()));
    // nested txns are checked too
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", raft(allowed.clone()
        .addSuccess(op(txn().addSuccess(op(Req.put("bar", "nested"))).build())).build()));
    assertEquals("1", value("bar"));
    assertNull(value("foo/1"));

    TxnResponse t = (TxnResponse) as("alice", raft(allowed.build())).response();
    assertTrue(t.getSucceeded());
    assertEquals("s", value("foo/1"));
    refusedAs(EtcdError.PERMISSION_DENIED, "bob", raft(allowed.build()));
  }

  @Test
  void txnPutWithPrevKvNeedsRead() {
    // A write-only user must not read a key's previous value through a txn put either (etcd fixed
    // this bypass in etcd-io/etcd#21677, backported to release-3.4 as #21688; PermissionChecks'
    // own javadoc asks for read with prev_kv).
    as("root", putReq("wo/secret", "hidden"));
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", raft(txn()
        .addSuccess(op(Req.putBuilder("wo/secret").setValue(bs("x")).setPrevKv(true).build())).build()));
    assertEquals("hidden", value("wo/secret"));
  }

  @Test
  void txnPutAttachingToALeaseWithForeignKeysIsRefused() {
    // As a plain put: attaching to a lease that holds keys one may not write is refused (etcd-io/etcd#21677).
    as("root", grantReq(9, 100));
    as("root", putReq("bar", "leased", 9));
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", raft(txn()
        .addSuccess(op(Req.putBuilder("foo/9").setValue(bs("x")).setLease(9).build())).build()));
    assertNull(value("foo/9"));
  }

  @Test
  void leaseRevokeNeedsWriteOnEveryAttachedKey() {
    as("root", grantReq(7, 100));
    as("root", putReq("bar", "leased", 7));
    as("root", putReq("foo/7", "leased", 7));
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", revokeReq(7));
    assertNotNull(fx.lessor().lookup(7));
    assertEquals("leased", value("bar"));
    // attaching to a lease that holds keys one may not write is refused as well
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", putReq("foo/8", "x", 7));
    assertNull(value("foo/8"));

    // a lease of one's own keys
    as("alice", grantReq(8, 100)); // lease grant needs no key permission, as in etcd
    as("alice", putReq("foo/8", "x", 8));
    as("alice", revokeReq(8));
    assertNull(fx.lessor().lookup(8));
    assertNull(value("foo/8"));

    as("root", revokeReq(7));
    assertNull(value("bar"));
    assertNull(fx.lessor().lookup(7));
  }

  @Test
  void aUserHoldingTheRootRoleMayDoAnything() {
    refusedAs(EtcdError.PERMISSION_DENIED, "bob", putReq("bar", "2"));
    as("root", grantRole("bob", "root"));
    as("bob", putReq("bar", "2"));
    as("bob", deleteReq("\0", "\0"));
    assertNull(value("bar"));
    as("bob", roleAdd("made-by-bob"));
    assertTrue(fx.auth().state().roles().containsKey("made-by-bob"));
  }

  // ---- auth entries

  @Test
  void adminEntriesAreRefusedForOtherUsers() {
    List<InternalRaftRequest> admin = List.of(userAdd("eve", "pw"), userDelete("bob"), changePassword("bob", "x"),
        grantRole("bob", "rw"), revokeRole("alice", "rw"), roleAdd("x"), roleDelete("other"),
        grantPermission("other", perm(Type.READ, "a", "")), revokePermission("rw", "foo", "fop"), userList(),
        roleList(), disable(), enable());
    for (InternalRaftRequest r : admin) {
      refusedAs(EtcdError.PERMISSION_DENIED, "alice", r);
      refused(EtcdError.USER_EMPTY, r);
      refusedAs(EtcdError.USER_NOT_FOUND, "ghost", r);
    }
    assertTrue(fx.auth().isEnabled());
    assertTrue(fx.auth().userExists("bob"));
    assertFalse(fx.auth().userExists("eve"));
    // root may
    as("root", userAdd("eve", "pw"));
    AuthUserListResponse users = (AuthUserListResponse) as("root", userList()).response();
    assertEquals(List.of("alice", "bob", "carol", "eve", "root"), users.getUsersList());
    AuthRoleListResponse roles = (AuthRoleListResponse) as("root", roleList()).response();
    assertEquals(List.of("other", "ro", "rw", "wo"), roles.getRolesList());
  }

  @Test
  void refusedChangesByRootChangeNothing() {
    refusedAs(EtcdError.USER_ALREADY_EXIST, "root", userAdd("alice", "pw"));
    refusedAs(EtcdError.USER_EMPTY, "root", userAdd("", "pw"));
    refusedAs(EtcdError.INVALID_AUTH_MGMT, "root", userDelete("root"));
    refusedAs(EtcdError.INVALID_AUTH_MGMT, "root", revokeRole("root", "root"));
    refusedAs(EtcdError.ROLE_NOT_GRANTED, "root", revokeRole("bob", "rw"));
    refusedAs(EtcdError.ROLE_NOT_FOUND, "root", grantRole("bob", "nope"));
    refusedAs(EtcdError.PERMISSION_NOT_GRANTED, "root", revokePermission("rw", "foo", "foo0"));
    refusedAs(EtcdError.ROLE_ALREADY_EXIST, "root", roleAdd("rw"));
    refusedAs(EtcdError.ROLE_NOT_FOUND, "root", roleDelete("nope"));
  }

  @Test
  void aUserMayGetThemselvesAndTheirRoles() {
    AuthUserGetResponse self = (AuthUserGetResponse) as("alice", userGet("alice")).response();
    assertEquals(List.of("ro", "rw", "wo"), self.getRolesList());
    assertEquals(List.of(), ((AuthUserGetResponse) as("bob", userGet("bob")).response()).getRolesList());
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", userGet("bob"));
    refused(EtcdError.USER_EMPTY, userGet("bob"));
    assertEquals(List.of("root"), ((AuthUserGetResponse) as("root", userGet("root")).response()).getRolesList());
    refusedAs(EtcdError.USER_NOT_FOUND, "root", userGet("ghost"));

    AuthRoleGetResponse rw = (AuthRoleGetResponse) as("alice", roleGet("rw")).response();
    assertEquals(List.of(perm(Type.READWRITE, "foo", "fop")), rw.getPermList());
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", roleGet("other"));
    refusedAs(EtcdError.PERMISSION_DENIED, "bob", roleGet("rw"));
    assertEquals(0, ((AuthRoleGetResponse) as("root", roleGet("other")).response()).getPermCount());
    refusedAs(EtcdError.ROLE_NOT_FOUND, "root", roleGet("nope"));
  }

  @Test
  void statusIsOpenToEveryone() {
    AuthStatusResponse s = (AuthStatusResponse) fx.apply(status()).response();
    assertTrue(s.getEnabled());
    assertEquals(authRev(), s.getAuthRevision());
  }

  @Test
  void authenticateAssignsPrefixDotIndex() {
    long rev = authRev();
    AuthenticateResponse r = (AuthenticateResponse) fx.apply(authenticate("alice", "abcdefghijklmnop")).response();
    assertEquals("abcdefghijklmnop." + fx.lastIndex(), r.getToken());
    assertEquals(new AuthInfo("alice", rev), fx.tokens().info(r.getToken(), authRev()));
    assertEquals(rev, authRev(), "authenticating changes no auth state");
    AuthenticateResponse again = (AuthenticateResponse) fx.apply(authenticate("alice", "abcdefghijklmnop")).response();
    assertNotEquals(r.getToken(), again.getToken());

    refused(EtcdError.AUTH_FAILED, authenticate("carol", "p")); // no_password user
    refused(EtcdError.AUTH_FAILED, authenticate("ghost", "p"));
  }

  private static void assertNotEquals(Object a, Object b) {
    org.junit.jupiter.api.Assertions.assertNotEquals(a, b);
  }

  @Test
  void authenticateNeedsAuthEnabled() {
    as("root", disable());
    refused(EtcdError.AUTH_NOT_ENABLED, authenticate("alice", "p"));
  }

  @Test
  void tokensExpireWithTheTtlAndLiveOnWithUse() {
    String t = ((AuthenticateResponse) fx.apply(authenticate("alice", "p")).response()).getToken();
    fx.ticker.advanceSeconds(ApplyFixture.TOKEN_TTL - 10);
    assertNotNull(fx.tokens().info(t, authRev()));
    fx.ticker.advanceSeconds(ApplyFixture.TOKEN_TTL - 10);
    assertNotNull(fx.tokens().info(t, authRev()), "extended by the previous use");
    fx.ticker.advanceSeconds(ApplyFixture.TOKEN_TTL + 1);
    assertNull(fx.tokens().info(t, authRev()));
  }

  @Test
  void passwordChangeAndUserDeleteKillTheUsersTokens() {
    String alice = ((AuthenticateResponse) fx.apply(authenticate("alice", "a")).response()).getToken();
    String bob = ((AuthenticateResponse) fx.apply(authenticate("bob", "b")).response()).getToken();
    String root = ((AuthenticateResponse) fx.apply(authenticate("root", "r")).response()).getToken();
    long before = authRev();
    as("root", changePassword("alice", "new"));
    assertEquals(before + 1, authRev());
    assertNull(fx.tokens().info(alice, authRev()));
    assertNotNull(fx.tokens().info(bob, authRev()));
    assertEquals(authRev(), fx.auth().checkPassword("alice", "new"));
    refused(EtcdError.AUTH_OLD_REVISION, ApplyFixture.as("alice", before, putReq("foo/1", "x")));

    as("root", userDelete("bob"));
    assertNull(fx.tokens().info(bob, authRev()));
    assertNotNull(fx.tokens().info(root, authRev()));
    refusedAs(EtcdError.PERMISSION_DENIED, "bob", putReq("foo/1", "x"));
  }

  @Test
  void disableDropsEveryTokenAndOpensTheStore() {
    String root = ((AuthenticateResponse) fx.apply(authenticate("root", "r")).response()).getToken();
    refusedAs(EtcdError.PERMISSION_DENIED, "bob", disable());
    long before = authRev();
    as("root", disable());
    assertFalse(fx.auth().isEnabled());
    assertEquals(before + 1, authRev());
    assertNull(fx.tokens().info(root, authRev()));
    fx.apply(putReq("bar", "open")); // no identity needed any more
    assertEquals("open", value("bar"));
    fx.apply(userAdd("dave", "pw"));
    fx.apply(enable());
    assertTrue(fx.auth().isEnabled());
  }

  @Test
  void authStateSurvivesReopen() {
    long rev = authRev();
    fx.apply(authenticate("alice", "p"));
    fx.reopen();
    assertTrue(fx.auth().isEnabled());
    assertEquals(rev, authRev());
    refusedAs(EtcdError.PERMISSION_DENIED, "alice", putReq("bar", "2"));
    as("alice", putReq("foo/r", "after"));
    assertEquals("after", value("foo/r"));
    assertEquals(List.of("ro", "rw", "wo"), ((AuthUserGetResponse) as("alice", userGet("alice")).response()).getRolesList());
  }

  @Test
  void responsesCarryTheStoreRevision() {
    AuthUserAddResponse r = (AuthUserAddResponse) as("root", userAdd("eve", "pw")).response();
    assertEquals(fx.revision(), r.getHeader().getRevision());
  }

  @Test
  void groupCommitChecksEachEntryAgainstTheStateBeforeIt() {
    long rev = authRev();
    List<Object> out = fx.applyGroup(List.of(
        ApplyFixture.as("root", rev, grantPermission("rw", perm(Type.READWRITE, "bar", ""))),
        ApplyFixture.as("alice", rev, putReq("bar", "stale")), // checked against the bumped revision
        ApplyFixture.as("alice", rev + 1, putReq("bar", "fresh"))));
    assertInstanceOf(Applied.class, out.get(0));
    assertEquals(EtcdError.AUTH_OLD_REVISION, ((EtcdException) out.get(1)).error());
    assertInstanceOf(Applied.class, out.get(2));
    assertEquals("fresh", value("bar"));
  }

  private static void assertInstanceOf(Class<?> c, Object o) {
    org.junit.jupiter.api.Assertions.assertInstanceOf(c, o, String.valueOf(o));
  }
}
