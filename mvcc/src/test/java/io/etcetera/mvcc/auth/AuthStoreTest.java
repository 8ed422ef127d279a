package io.etcetera.mvcc.auth;

import static io.etcetera.mvcc.auth.AuthRig.bs;
import static io.etcetera.mvcc.auth.AuthRig.perm;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.authpb.Permission;
import io.etcetera.api.authpb.Permission.Type;
import io.etcetera.api.authpb.Role;
import io.etcetera.api.authpb.User;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class AuthStoreTest {
  @TempDir
  Path dir;
  AuthRig rig;
  AuthStore auth;

  @BeforeEach
  void open() {
    rig = new AuthRig(dir);
    auth = rig.auth;
  }

  @AfterEach
  void close() {
    rig.close();
  }

  private void reopen() {
    rig.reopen();
    auth = rig.auth;
  }

  private static void assertError(EtcdError error, Executable e) {
    EtcdException x = assertThrows(EtcdException.class, e);
    assertEquals(error, x.error());
    assertEquals(error.message(), x.getMessage());
  }

  private List<String> roles(String user) {
    return auth.state().users().get(user).getRolesList();
  }

  private List<Permission> perms(String role) {
    return auth.state().roles().get(role).getKeyPermissionList();
  }

  // ---- enable / disable

  @Test
  void freshStoreIsDisabledAtRevisionOne() {
    assertFalse(auth.isEnabled());
    assertEquals(1, auth.revision());
    assertTrue(auth.state().users().isEmpty());
    assertTrue(auth.state().roles().isEmpty());
    reopen();
    assertEquals(1, auth.revision());
  }

  @Test
  void enableNeedsTheRootUserWithTheRootRole() {
    rig.refused(EtcdError.ROOT_USER_NOT_EXIST, w -> auth.enable(w));
    rig.userAdd("root", "pw");
    rig.refused(EtcdError.ROOT_ROLE_NOT_EXIST, w -> auth.enable(w));
    rig.roleAdd("admin");
    rig.grantRole("root", "admin");
    rig.refused(EtcdError.ROOT_ROLE_NOT_EXIST, w -> auth.enable(w));
    rig.grantRole("root", "root"); // no "root" role row needed
    assertFalse(auth.state().roles().containsKey("root"));
    long rev = auth.revision();
    rig.change(w -> auth.enable(w));
    assertTrue(auth.isEnabled());
    assertEquals(rev, auth.revision(), "etcd's AuthEnable does not bump the auth revision");
    assertEquals(List.of("put enabled"), rig.staged);
    rig.change(w -> auth.enable(w));
    assertEquals(List.of(), rig.staged, "a second enable is ignored");
  }

  @Test
  void disableBumpsTheRevisionAndIsIgnoredWhenDisabled() {
    rig.change(w -> auth.disable(w));
    assertEquals(List.of(), rig.staged);
    assertEquals(1, auth.revision());
    rig.enableWithRoot();
    long rev = auth.revision();
    rig.change(w -> auth.disable(w));
    assertFalse(auth.isEnabled());
    assertEquals(rev + 1, auth.revision());
    reopen();
    assertFalse(auth.isEnabled());
    assertEquals(rev + 1, auth.revision());
  }

  // ---- users

  @Test
  void userAddDeleteAndList() {
    rig.userAdd("zoe", "a");
    rig.userAdd("alice", "b");
    rig.userAdd("mallory", "c");
    assertEquals(4, auth.revision());
    assertEquals(List.of("alice", "mallory", "zoe"), List.copyOf(auth.state().users().keySet()), "sorted");
    assertTrue(auth.userExists("alice"));
    User a = auth.state().users().get("alice");
    assertEquals("alice", a.getName().toStringUtf8());
    assertTrue(a.getPassword().toStringUtf8().startsWith("$2a$04$"), a.getPassword().toStringUtf8());
    assertTrue(a.getRolesList().isEmpty());
    rig.change(w -> auth.userDelete(w, "mallory"));
    assertEquals(List.of("delete user/mallory", "put revision"), rig.staged);
    assertEquals(5, auth.revision());
    assertFalse(auth.userExists("mallory"));
    assertEquals(List.of("alice", "zoe"), List.copyOf(auth.state().users().keySet()));
  }

  @Test
  void userAddRefusals() {
    rig.userAdd("alice", "pw");
    rig.refused(EtcdError.USER_ALREADY_EXIST, w -> auth.userAdd(w, "alice", Passwords.hash("x", 4),
        io.etcetera.api.authpb.UserAddOptions.getDefaultInstance()));
    rig.refused(EtcdError.USER_EMPTY, w -> auth.userAdd(w, "", Passwords.hash("x", 4),
        io.etcetera.api.authpb.UserAddOptions.getDefaultInstance()));
    rig.refused(EtcdError.USER_NOT_FOUND, w -> auth.userDelete(w, "bob"));
    rig.refused(EtcdError.USER_NOT_FOUND, w -> auth.userChangePassword(w, "bob", Passwords.hash("x", 4)));
  }

  @Test
  void checkPassword() {
    rig.userAdd("alice", "secret");
    assertError(EtcdError.AUTH_NOT_ENABLED, () -> auth.checkPassword("alice", "secret"));
    rig.enableWithRoot();
    assertEquals(auth.revision(), auth.checkPassword("alice", "secret"));
    assertEquals(auth.revision(), auth.checkPassword("root", "rootpw"));
    assertError(EtcdError.AUTH_FAILED, () -> auth.checkPassword("alice", "Secret"));
    assertError(EtcdError.AUTH_FAILED, () -> auth.checkPassword("alice", ""));
    assertError(EtcdError.AUTH_FAILED, () -> auth.checkPassword("nobody", "secret"));
  }

  @Test
  void noPasswordUsersCannotAuthenticate() {
    rig.userAddNoPassword("cn-user");
    rig.change(w -> auth.userAdd(w, "sneaky", Passwords.hash("pw", 4),
        io.etcetera.api.authpb.UserAddOptions.newBuilder().setNoPassword(true).build()));
    assertTrue(auth.state().users().get("sneaky").getPassword().isEmpty(), "no hash kept for a no_password user");
    assertTrue(auth.state().users().get("cn-user").getOptions().getNoPassword());
    rig.enableWithRoot();
    // etcd answers ErrNoPasswordUser (gRPC Unknown, "password was given for no password user")
    assertError(EtcdError.NO_PASSWORD_USER, () -> auth.checkPassword("cn-user", ""));
    assertError(EtcdError.NO_PASSWORD_USER, () -> auth.checkPassword("sneaky", "pw"));
    // and a password change keeps the option (etcd copies user.Options)
    rig.change(w -> auth.userChangePassword(w, "cn-user", Passwords.hash("now", 4)));
    assertError(EtcdError.NO_PASSWORD_USER, () -> auth.checkPassword("cn-user", "now"));
  }

  @Test
  void changePasswordReplacesTheHashKeepsRolesAndBumpsTheRevision() {
    rig.roleAdd("r");
    rig.userAdd("alice", "old");
    rig.grantRole("alice", "r");
    rig.enableWithRoot();
    long rev = auth.revision();
    AuthInfo before = rig.who("alice");
    rig.change(w -> auth.userChangePassword(w, "alice", Passwords.hash("new", 4)));
    assertEquals(rev + 1, auth.revision());
    assertEquals(List.of("put user/alice", "put revision"), rig.staged);
    assertError(EtcdError.AUTH_FAILED, () -> auth.checkPassword("alice", "old"));
    assertEquals(rev + 1, auth.checkPassword("alice", "new"));
    assertEquals(List.of("r"), roles("alice"));
    // identities checked before the change are stale now
    assertError(EtcdError.AUTH_OLD_REVISION, () -> auth.checkRead(before, bs("k"), bs("")));
  }

  // ---- user roles

  @Test
  void grantAndRevokeRoles() {
    rig.userAdd("alice", "pw");
    rig.roleAdd("b-role");
    rig.roleAdd("a-role");
    long rev = auth.revision();
    rig.grantRole("alice", "b-role");
    rig.grantRole("alice", "a-role");
    rig.grantRole("alice", "root"); // the root role needs no row
    assertEquals(List.of("a-role", "b-role", "root"), roles("alice"), "kept sorted");
    assertEquals(rev + 3, auth.revision());
    assertTrue(auth.hasRole("alice", "a-role"));
    assertFalse(auth.hasRole("alice", "c-role"));
    assertFalse(auth.hasRole("nobody", "a-role"));

    rig.change(w -> auth.userGrantRole(w, "alice", "a-role"));
    assertEquals(List.of(), rig.staged, "granting twice is a no-op");
    assertEquals(rev + 3, auth.revision());

    rig.change(w -> auth.userRevokeRole(w, "alice", "b-role"));
    assertEquals(List.of("a-role", "root"), roles("alice"));
    assertEquals(rev + 4, auth.revision());
    rig.refused(EtcdError.ROLE_NOT_GRANTED, w -> auth.userRevokeRole(w, "alice", "b-role"));
    rig.refused(EtcdError.ROLE_NOT_FOUND, w -> auth.userGrantRole(w, "alice", "nope"));
    rig.refused(EtcdError.USER_NOT_FOUND, w -> auth.userGrantRole(w, "bob", "a-role"));
    rig.refused(EtcdError.USER_NOT_FOUND, w -> auth.userRevokeRole(w, "bob", "a-role"));
  }

  @Test
  void rootCannotBeDeletedOrLoseTheRootRoleWhileEnabled() {
    rig.userAdd("alice", "pw");
    rig.grantRole("alice", "root");
    rig.roleAdd("root");
    rig.enableWithRoot();
    rig.refused(EtcdError.INVALID_AUTH_MGMT, w -> auth.userDelete(w, "root"));
    rig.refused(EtcdError.INVALID_AUTH_MGMT, w -> auth.userRevokeRole(w, "root", "root"));
    rig.refused(EtcdError.INVALID_AUTH_MGMT, w -> auth.roleDelete(w, "root"));
    // another user may lose the root role
    rig.change(w -> auth.userRevokeRole(w, "alice", "root"));
    assertEquals(List.of(), roles("alice"));
    // disabled: all allowed
    rig.change(w -> auth.disable(w));
    rig.change(w -> auth.userRevokeRole(w, "root", "root"));
    rig.change(w -> auth.roleDelete(w, "root"));
    rig.change(w -> auth.userDelete(w, "root"));
    assertFalse(auth.userExists("root"));
  }

  // ---- roles

  @Test
  void roleAddAndDelete() {
    rig.roleAdd("r2");
    rig.roleAdd("r1");
    assertEquals(List.of("r1", "r2"), List.copyOf(auth.state().roles().keySet()));
    assertEquals(3, auth.revision());
    rig.refused(EtcdError.ROLE_ALREADY_EXIST, w -> auth.roleAdd(w, "r1"));
    rig.refused(EtcdError.ROLE_EMPTY, w -> auth.roleAdd(w, ""));
    rig.refused(EtcdError.ROLE_NOT_FOUND, w -> auth.roleDelete(w, "r3"));
    rig.change(w -> auth.roleDelete(w, "r2"));
    assertEquals(List.of("r1"), List.copyOf(auth.state().roles().keySet()));
    assertEquals(4, auth.revision());
  }

  @Test
  void roleDeleteRemovesItFromEveryUserAndTheirPermissions() {
    rig.roleAdd("rw");
    rig.roleAdd("other");
    rig.grantPermission("rw", perm(Type.READWRITE, "foo", "fop"));
    rig.userAdd("alice", "pw");
    rig.userAdd("bob", "pw");
    rig.userAdd("carol", "pw");
    rig.grantRole("alice", "rw");
    rig.grantRole("alice", "other");
    rig.grantRole("bob", "rw");
    rig.grantRole("carol", "other");
    rig.enableWithRoot();
    assertDoesNotThrow(() -> auth.checkWrite(rig.who("alice"), bs("foo/1"), bs("")));
    long rev = auth.revision();
    rig.change(w -> auth.roleDelete(w, "rw"));
    assertEquals(List.of("delete role/rw", "put user/alice", "put user/bob", "put revision"), rig.staged);
    assertEquals(rev + 1, auth.revision(), "one bump for the whole deletion");
    assertEquals(List.of("other"), roles("alice"));
    assertEquals(List.of(), roles("bob"));
    assertEquals(List.of("other"), roles("carol"));
    assertError(EtcdError.PERMISSION_DENIED, () -> auth.checkWrite(rig.who("alice"), bs("foo/1"), bs("")));
    // a role of the same name added later does not come back to them
    rig.roleAdd("rw");
    assertEquals(List.of(), roles("bob"));
    reopen();
    assertEquals(List.of("other"), roles("alice"));
    assertEquals(List.of(), roles("bob"));
  }

  // ---- permissions

  @Test
  void grantPermissionKeepsThemSortedAndUpdatesTheSameRange() {
    rig.roleAdd("r");
    rig.grantPermission("r", perm(Type.READ, "m", "n"));
    rig.grantPermission("r", perm(Type.WRITE, "a", ""));
    rig.grantPermission("r", perm(Type.READ, "z", "\0"));
    rig.grantPermission("r", perm(Type.READ, "c", "d"));
    assertEquals(List.of("a", "c", "m", "z"), perms("r").stream().map(p -> p.getKey().toStringUtf8()).toList());
    long rev = auth.revision();
    rig.grantPermission("r", perm(Type.READWRITE, "m", "n")); // same key and range end: an update
    assertEquals(4, perms("r").size());
    assertEquals(perm(Type.READWRITE, "m", "n"), perms("r").get(2));
    assertEquals(rev + 1, auth.revision());
    assertEquals(List.of("put role/r", "put revision"), rig.staged);
    rig.grantPermission("r", perm(Type.READ, "m", "o")); // same key, other end: a new one
    assertEquals(5, perms("r").size());
    rig.refused(EtcdError.ROLE_NOT_FOUND, w -> auth.roleGrantPermission(w, "nope", perm(Type.READ, "a", "")));
  }

  @Test
  void revokePermissionNeedsTheExactRange() {
    rig.roleAdd("r");
    rig.grantPermission("r", perm(Type.READ, "a", "b"));
    rig.grantPermission("r", perm(Type.READ, "k", ""));
    rig.refused(EtcdError.PERMISSION_NOT_GRANTED, w -> auth.roleRevokePermission(w, "r", bs("a"), bs("c")));
    rig.refused(EtcdError.PERMISSION_NOT_GRANTED, w -> auth.roleRevokePermission(w, "r", bs("k"), bs("l")));
    rig.refused(EtcdError.ROLE_NOT_FOUND, w -> auth.roleRevokePermission(w, "nope", bs("a"), bs("b")));
    long rev = auth.revision();
    rig.change(w -> auth.roleRevokePermission(w, "r", bs("a"), bs("b")));
    assertEquals(List.of(perm(Type.READ, "k", "")), perms("r"));
    assertEquals(rev + 1, auth.revision());
    rig.change(w -> auth.roleRevokePermission(w, "r", bs("k"), bs("")));
    assertEquals(List.of(), perms("r"));
    rig.refused(EtcdError.PERMISSION_NOT_GRANTED, w -> auth.roleRevokePermission(w, "r", bs("k"), bs("")));
  }

  @Test
  void everyChangeBumpsTheRevisionByOne() {
    long r = auth.revision();
    rig.userAdd("root", "pw");
    assertEquals(++r, auth.revision());
    rig.grantRole("root", "root");
    assertEquals(++r, auth.revision());
    rig.roleAdd("x");
    assertEquals(++r, auth.revision());
    rig.grantPermission("x", perm(Type.READ, "a", ""));
    assertEquals(++r, auth.revision());
    rig.userAdd("u", "pw");
    assertEquals(++r, auth.revision());
    rig.grantRole("u", "x");
    assertEquals(++r, auth.revision());
    rig.change(w -> auth.userChangePassword(w, "u", Passwords.hash("pw2", 4)));
    assertEquals(++r, auth.revision());
    rig.change(w -> auth.roleRevokePermission(w, "x", bs("a"), bs("")));
    assertEquals(++r, auth.revision());
    rig.change(w -> auth.userRevokeRole(w, "u", "x"));
    assertEquals(++r, auth.revision());
    rig.change(w -> auth.roleDelete(w, "x"));
    assertEquals(++r, auth.revision());
    rig.change(w -> auth.userDelete(w, "u"));
    assertEquals(++r, auth.revision());
    rig.change(w -> auth.enable(w));
    assertEquals(r, auth.revision());
    rig.change(w -> auth.disable(w));
    assertEquals(++r, auth.revision());
    reopen();
    assertEquals(r, auth.revision());
  }

  @Test
  void stateSurvivesReopen() {
    rig.roleAdd("rw");
    rig.grantPermission("rw", perm(Type.READWRITE, "foo", "fop"));
    rig.grantPermission("rw", perm(Type.READ, "bar", ""));
    rig.userAdd("alice", "pw");
    rig.grantRole("alice", "rw");
    rig.userAddNoPassword("cn");
    rig.enableWithRoot();
    AuthState before = auth.state();
    reopen();
    AuthState after = auth.state();
    assertTrue(auth.isEnabled());
    assertEquals(before.revision(), after.revision());
    assertEquals(before.users(), after.users());
    assertEquals(before.roles(), after.roles());
    assertEquals(auth.revision(), auth.checkPassword("alice", "pw"));
    assertError(EtcdError.NO_PASSWORD_USER, () -> auth.checkPassword("cn", ""));
    assertDoesNotThrow(() -> auth.checkWrite(rig.who("alice"), bs("foo/x"), bs("")));
    assertDoesNotThrow(() -> auth.checkRead(rig.who("alice"), bs("bar"), bs("")));
    assertError(EtcdError.PERMISSION_DENIED, () -> auth.checkWrite(rig.who("alice"), bs("bar"), bs("")));
  }

  // ---- checks

  @Test
  void disabledAuthAllowsEverything() {
    rig.userAdd("alice", "pw");
    assertDoesNotThrow(() -> auth.checkRead(AuthInfo.NONE, bs("k"), bs("")));
    assertDoesNotThrow(() -> auth.checkWrite(null, bs("a"), bs("\0")));
    assertDoesNotThrow(() -> auth.checkWrite(new AuthInfo("nobody", 1), bs("a"), bs("z")));
    assertDoesNotThrow(() -> auth.checkAdmin(null));
    assertDoesNotThrow(() -> auth.checkAdmin(new AuthInfo("alice", 0)));
  }

  @Test
  void readAndWriteChecksWhenEnabled() {
    rig.roleAdd("ro");
    rig.grantPermission("ro", perm(Type.READ, "foo", "fop"));
    rig.userAdd("alice", "pw");
    rig.grantRole("alice", "ro");
    rig.userAdd("bob", "pw");
    rig.enableWithRoot();
    long rev = auth.revision();

    assertError(EtcdError.USER_EMPTY, () -> auth.checkRead(AuthInfo.NONE, bs("foo"), bs("")));
    assertError(EtcdError.USER_EMPTY, () -> auth.checkRead(null, bs("foo"), bs("")));
    assertError(EtcdError.USER_EMPTY, () -> auth.checkWrite(new AuthInfo("root", 0), bs("foo"), bs("")));
    assertError(EtcdError.AUTH_OLD_REVISION, () -> auth.checkRead(new AuthInfo("alice", rev - 1), bs("foo"), bs("")));
    assertError(EtcdError.AUTH_OLD_REVISION, () -> auth.checkWrite(new AuthInfo("root", rev - 1), bs("foo"), bs("")));
    assertError(EtcdError.PERMISSION_DENIED, () -> auth.checkRead(new AuthInfo("nobody", rev), bs("foo"), bs("")));
    assertError(EtcdError.PERMISSION_DENIED, () -> auth.checkRead(new AuthInfo("", rev), bs("foo"), bs("")));
    assertError(EtcdError.PERMISSION_DENIED, () -> auth.checkRead(new AuthInfo("bob", rev), bs("foo"), bs("")));

    assertDoesNotThrow(() -> auth.checkRead(new AuthInfo("alice", rev), bs("foo/1"), bs("")));
    assertDoesNotThrow(() -> auth.checkRead(new AuthInfo("alice", rev + 5), bs("foo"), bs("fop")), "newer is fine");
    assertError(EtcdError.PERMISSION_DENIED, () -> auth.checkWrite(new AuthInfo("alice", rev), bs("foo/1"), bs("")));
    assertError(EtcdError.PERMISSION_DENIED, () -> auth.checkRead(new AuthInfo("alice", rev), bs("foo"), bs("\0")));

    // the root role may do anything
    assertDoesNotThrow(() -> auth.checkWrite(new AuthInfo("root", rev), bs("\0"), bs("\0")));
    assertDoesNotThrow(() -> auth.checkRead(new AuthInfo("root", rev), bs("anything"), bs("")));
  }

  @Test
  void permissionChangesApplyToTheNextCheck() {
    rig.roleAdd("r");
    rig.userAdd("alice", "pw");
    rig.grantRole("alice", "r");
    rig.enableWithRoot();
    assertError(EtcdError.PERMISSION_DENIED, () -> auth.checkWrite(rig.who("alice"), bs("k"), bs("")));
    rig.grantPermission("r", perm(Type.WRITE, "k", ""));
    assertDoesNotThrow(() -> auth.checkWrite(rig.who("alice"), bs("k"), bs("")));
    rig.change(w -> auth.userRevokeRole(w, "alice", "r"));
    assertError(EtcdError.PERMISSION_DENIED, () -> auth.checkWrite(rig.who("alice"), bs("k"), bs("")));
    rig.grantRole("alice", "root");
    assertDoesNotThrow(() -> auth.checkWrite(rig.who("alice"), bs("zzz"), bs("\0")));
    assertDoesNotThrow(() -> auth.checkAdmin(rig.who("alice")));
  }

  @Test
  void checkAdmin() {
    rig.userAdd("alice", "pw");
    rig.enableWithRoot();
    assertError(EtcdError.USER_EMPTY, () -> auth.checkAdmin(null));
    assertError(EtcdError.USER_EMPTY, () -> auth.checkAdmin(AuthInfo.NONE));
    assertError(EtcdError.USER_NOT_FOUND, () -> auth.checkAdmin(new AuthInfo("nobody", auth.revision())));
    assertError(EtcdError.PERMISSION_DENIED, () -> auth.checkAdmin(rig.who("alice")));
    assertDoesNotThrow(() -> auth.checkAdmin(rig.who("root")));
    // as etcd 3.4's IsAdminPermitted, no auth-revision check
    assertDoesNotThrow(() -> auth.checkAdmin(new AuthInfo("root", 1)));
  }

  @Test
  void rolesAreNamedInStoredUsersAndRoles() {
    rig.roleAdd("r");
    rig.grantPermission("r", perm(Type.READ, "a", "b"));
    Role r = auth.state().roles().get("r");
    assertEquals("r", r.getName().toStringUtf8());
    assertNotNull(auth.state().permissions());
  }
}
