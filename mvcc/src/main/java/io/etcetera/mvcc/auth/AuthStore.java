package io.etcetera.mvcc.auth;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.etcetera.api.authpb.Permission;
import io.etcetera.api.authpb.Role;
import io.etcetera.api.authpb.User;
import io.etcetera.api.authpb.UserAddOptions;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.backend.BackendException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import org.rocksdb.RocksIterator;

/**
 * etcd's v3 auth store: users with bcrypt password hashes and roles, roles with key-range
 * permissions, the enabled flag and the auth revision (bumped by every change, so that a request
 * checked against an older revision is refused). Changes come only from applied log entries and
 * are staged in the entry's write batch; permission checks read the current immutable
 * {@link AuthState}.
 *
 * <p>Threading: the apply thread is the only writer ({@code state} is replaced, never mutated);
 * any thread may check permissions or passwords.
 */
public final class AuthStore {
  /** Auth row: one byte, 1 when authentication is enabled. */
  public static final byte[] ENABLED = "enabled".getBytes(StandardCharsets.UTF_8);
  /** Auth row: the auth revision, 8 bytes big-endian. */
  public static final byte[] REVISION = "revision".getBytes(StandardCharsets.UTF_8);
  /** Prefix of the auth rows of users (then the name; the value is an authpb.User). */
  public static final String USER = "user/";
  /** Prefix of the auth rows of roles (then the name; the value is an authpb.Role). */
  public static final String ROLE = "role/";

  private volatile AuthState state = AuthState.empty();

  /** Where the store stages its rows: the write batch of the entry being applied. */
  public interface AuthWrites {
    void put(byte[] key, byte[] value);

    void delete(byte[] key);
  }

  /** Loads users, roles and flags; a fresh store starts at auth revision 1, as etcd's. */
  public void recover(Backend backend) {
    SortedMap<String, User> users = new TreeMap<>();
    SortedMap<String, Role> roles = new TreeMap<>();
    boolean enabled = false;
    long revision = 0;
    try (RocksIterator it = backend.authIterator()) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        String k = new String(it.key(), StandardCharsets.UTF_8);
        byte[] v = it.value();
        try {
          if (k.equals("enabled")) {
            enabled = v.length == 1 && v[0] == 1;
          } else if (k.equals("revision")) {
            revision = ByteBuffer.wrap(v).getLong();
          } else if (k.startsWith(USER)) {
            users.put(k.substring(USER.length()), User.parseFrom(v));
          } else if (k.startsWith(ROLE)) {
            roles.put(k.substring(ROLE.length()), Role.parseFrom(v));
          }
        } catch (InvalidProtocolBufferException e) {
          throw new BackendException("corrupt auth row " + k, e);
        }
      }
    }
    state = AuthState.empty().with(enabled, Math.max(1, revision), users, roles);
  }

  public AuthState state() {
    return state;
  }

  public boolean isEnabled() {
    return state.enabled();
  }

  public long revision() {
    return state.revision();
  }

  // --- checks (any thread) ---

  /**
   * etcd's CheckPassword: the auth revision at which {@code name}'s password matched.
   *
   * @throws io.etcetera.api.errors.EtcdException AUTH_NOT_ENABLED, AUTH_FAILED
   */
  public long checkPassword(String name, String password) {
    AuthState s = state;
    if (!s.enabled()) {
      throw EtcdError.AUTH_NOT_ENABLED.exception();
    }
    User u = s.users().get(name);
    if (u == null) {
      throw EtcdError.AUTH_FAILED.exception();
    }
    if (u.getOptions().getNoPassword()) {
      throw EtcdError.NO_PASSWORD_USER.exception(); // etcd's ErrNoPasswordUser, sent as Unknown
    }
    if (!Passwords.matches(password, u.getPassword().toByteArray())) {
      throw EtcdError.AUTH_FAILED.exception();
    }
    return s.revision();
  }

  public boolean userExists(String name) {
    return state.users().containsKey(name);
  }

  public boolean hasRole(String user, String role) {
    User u = state.users().get(user);
    return u != null && u.getRolesList().contains(role);
  }

  /** etcd's isOpPermitted for a read of {@code [key, rangeEnd)}. */
  public void checkRead(AuthInfo ai, ByteString key, ByteString rangeEnd) {
    checkOp(ai, key, rangeEnd, false);
  }

  /** etcd's isOpPermitted for a write of {@code [key, rangeEnd)} (empty end: one key). */
  public void checkWrite(AuthInfo ai, ByteString key, ByteString rangeEnd) {
    checkOp(ai, key, rangeEnd, true);
  }

  private void checkOp(AuthInfo ai, ByteString key, ByteString rangeEnd, boolean write) {
    AuthState s = state;
    if (!s.enabled()) {
      return;
    }
    if (ai == null || ai.revision() == 0) {
      throw EtcdError.USER_EMPTY.exception();
    }
    if (ai.revision() < s.revision()) {
      throw EtcdError.AUTH_OLD_REVISION.exception();
    }
    User u = s.users().get(ai.username());
    if (u == null) {
      throw EtcdError.PERMISSION_DENIED.exception();
    }
    if (AuthState.hasRootRole(u)) {
      return;
    }
    RangePermissions p = s.permissions().get(ai.username());
    boolean ok = p != null && (write ? p.canWrite(key, rangeEnd) : p.canRead(key, rangeEnd));
    if (!ok) {
      throw EtcdError.PERMISSION_DENIED.exception();
    }
  }

  /** etcd's IsAdminPermitted: the user must hold the root role (when auth is enabled). */
  public void checkAdmin(AuthInfo ai) {
    AuthState s = state;
    if (!s.enabled()) {
      return;
    }
    if (ai == null || ai.username().isEmpty()) {
      throw EtcdError.USER_EMPTY.exception();
    }
    User u = s.users().get(ai.username());
    if (u == null) {
      throw EtcdError.USER_NOT_FOUND.exception();
    }
    if (!AuthState.hasRootRole(u)) {
      throw EtcdError.PERMISSION_DENIED.exception();
    }
  }

  // --- changes (apply thread) ---

  public void enable(AuthWrites w) {
    AuthState s = state;
    if (s.enabled()) {
      return; // etcd ignores a second enable
    }
    User root = s.users().get(AuthState.ROOT);
    if (root == null) {
      throw EtcdError.ROOT_USER_NOT_EXIST.exception();
    }
    if (!AuthState.hasRootRole(root)) {
      throw EtcdError.ROOT_ROLE_NOT_EXIST.exception();
    }
    w.put(ENABLED, new byte[] {1});
    state = s.with(true, s.revision(), s.users(), s.roles());
  }

  public void disable(AuthWrites w) {
    AuthState s = state;
    if (!s.enabled()) {
      return;
    }
    w.put(ENABLED, new byte[] {0});
    commit(w, s.with(false, s.revision() + 1, s.users(), s.roles()));
  }

  /** Adds a user; {@code hashedPassword} was computed before proposing (empty with no_password). */
  public void userAdd(AuthWrites w, String name, String hashedPassword, UserAddOptions options) {
    if (name.isEmpty()) {
      throw EtcdError.USER_EMPTY.exception();
    }
    AuthState s = state;
    if (s.users().containsKey(name)) {
      throw EtcdError.USER_ALREADY_EXIST.exception();
    }
    User u = User.newBuilder()
        .setName(ByteString.copyFromUtf8(name))
        .setPassword(options.getNoPassword() ? ByteString.EMPTY : ByteString.copyFromUtf8(hashedPassword))
        .setOptions(options)
        .build();
    SortedMap<String, User> users = new TreeMap<>(s.users());
    users.put(name, u);
    putUser(w, u);
    commit(w, s.with(s.enabled(), s.revision() + 1, users, s.roles()));
  }

  public void userDelete(AuthWrites w, String name) {
    AuthState s = state;
    if (s.enabled() && name.equals(AuthState.ROOT)) {
      throw EtcdError.INVALID_AUTH_MGMT.exception();
    }
    if (!s.users().containsKey(name)) {
      throw EtcdError.USER_NOT_FOUND.exception();
    }
    SortedMap<String, User> users = new TreeMap<>(s.users());
    users.remove(name);
    w.delete(key(USER, name));
    commit(w, s.with(s.enabled(), s.revision() + 1, users, s.roles()));
  }

  public void userChangePassword(AuthWrites w, String name, String hashedPassword) {
    AuthState s = state;
    User u = s.users().get(name);
    if (u == null) {
      throw EtcdError.USER_NOT_FOUND.exception();
    }
    User updated = u.toBuilder().setPassword(ByteString.copyFromUtf8(hashedPassword)).build();
    SortedMap<String, User> users = new TreeMap<>(s.users());
    users.put(name, updated);
    putUser(w, updated);
    commit(w, s.with(s.enabled(), s.revision() + 1, users, s.roles()));
  }

  public void userGrantRole(AuthWrites w, String name, String role) {
    AuthState s = state;
    User u = s.users().get(name);
    if (u == null) {
      throw EtcdError.USER_NOT_FOUND.exception();
    }
    if (!role.equals(AuthState.ROOT) && !s.roles().containsKey(role)) {
      throw EtcdError.ROLE_NOT_FOUND.exception();
    }
    if (u.getRolesList().contains(role)) {
      return; // etcd ignores granting a role twice
    }
    List<String> roles = new ArrayList<>(u.getRolesList());
    roles.add(role);
    roles.sort(null);
    User updated = u.toBuilder().clearRoles().addAllRoles(roles).build();
    SortedMap<String, User> users = new TreeMap<>(s.users());
    users.put(name, updated);
    putUser(w, updated);
    commit(w, s.with(s.enabled(), s.revision() + 1, users, s.roles()));
  }

  public void userRevokeRole(AuthWrites w, String name, String role) {
    AuthState s = state;
    if (s.enabled() && name.equals(AuthState.ROOT) && role.equals(AuthState.ROOT)) {
      throw EtcdError.INVALID_AUTH_MGMT.exception();
    }
    User u = s.users().get(name);
    if (u == null) {
      throw EtcdError.USER_NOT_FOUND.exception();
    }
    if (!u.getRolesList().contains(role)) {
      throw EtcdError.ROLE_NOT_GRANTED.exception();
    }
    List<String> roles = new ArrayList<>(u.getRolesList());
    roles.remove(role);
    User updated = u.toBuilder().clearRoles().addAllRoles(roles).build();
    SortedMap<String, User> users = new TreeMap<>(s.users());
    users.put(name, updated);
    putUser(w, updated);
    commit(w, s.with(s.enabled(), s.revision() + 1, users, s.roles()));
  }

  public void roleAdd(AuthWrites w, String name) {
    if (name.isEmpty()) {
      throw EtcdError.ROLE_EMPTY.exception();
    }
    AuthState s = state;
    if (s.roles().containsKey(name)) {
      throw EtcdError.ROLE_ALREADY_EXIST.exception();
    }
    Role r = Role.newBuilder().setName(ByteString.copyFromUtf8(name)).build();
    SortedMap<String, Role> roles = new TreeMap<>(s.roles());
    roles.put(name, r);
    w.put(key(ROLE, name), r.toByteArray());
    commit(w, s.with(s.enabled(), s.revision() + 1, s.users(), roles));
  }

  public void roleDelete(AuthWrites w, String name) {
    AuthState s = state;
    if (s.enabled() && name.equals(AuthState.ROOT)) {
      throw EtcdError.INVALID_AUTH_MGMT.exception();
    }
    if (!s.roles().containsKey(name)) {
      throw EtcdError.ROLE_NOT_FOUND.exception();
    }
    SortedMap<String, Role> roles = new TreeMap<>(s.roles());
    roles.remove(name);
    w.delete(key(ROLE, name));
    SortedMap<String, User> users = new TreeMap<>(s.users());
    for (User u : s.users().values()) {
      if (u.getRolesList().contains(name)) {
        List<String> rs = new ArrayList<>(u.getRolesList());
        rs.remove(name);
        User updated = u.toBuilder().clearRoles().addAllRoles(rs).build();
        users.put(u.getName().toStringUtf8(), updated);
        putUser(w, updated);
      }
    }
    commit(w, s.with(s.enabled(), s.revision() + 1, users, roles));
  }

  public void roleGrantPermission(AuthWrites w, String name, Permission perm) {
    AuthState s = state;
    Role r = s.roles().get(name);
    if (r == null) {
      throw EtcdError.ROLE_NOT_FOUND.exception();
    }
    List<Permission> perms = new ArrayList<>(r.getKeyPermissionList());
    boolean updated = false;
    for (int i = 0; i < perms.size(); i++) {
      Permission p = perms.get(i);
      if (p.getKey().equals(perm.getKey()) && p.getRangeEnd().equals(perm.getRangeEnd())) {
        perms.set(i, p.toBuilder().setPermType(perm.getPermType()).build());
        updated = true;
        break;
      }
    }
    if (!updated) {
      perms.add(Permission.newBuilder().setKey(perm.getKey()).setRangeEnd(perm.getRangeEnd())
          .setPermType(perm.getPermType()).build());
      perms.sort((a, b) -> ByteString.unsignedLexicographicalComparator().compare(a.getKey(), b.getKey()));
    }
    Role nr = r.toBuilder().clearKeyPermission().addAllKeyPermission(perms).build();
    SortedMap<String, Role> roles = new TreeMap<>(s.roles());
    roles.put(name, nr);
    w.put(key(ROLE, name), nr.toByteArray());
    commit(w, s.with(s.enabled(), s.revision() + 1, s.users(), roles));
  }

  public void roleRevokePermission(AuthWrites w, String name, ByteString key, ByteString rangeEnd) {
    AuthState s = state;
    Role r = s.roles().get(name);
    if (r == null) {
      throw EtcdError.ROLE_NOT_FOUND.exception();
    }
    List<Permission> perms = new ArrayList<>();
    for (Permission p : r.getKeyPermissionList()) {
      if (!p.getKey().equals(key) || !p.getRangeEnd().equals(rangeEnd)) {
        perms.add(p);
      }
    }
    if (perms.size() == r.getKeyPermissionCount()) {
      throw EtcdError.PERMISSION_NOT_GRANTED.exception();
    }
    Role nr = r.toBuilder().clearKeyPermission().addAllKeyPermission(perms).build();
    SortedMap<String, Role> roles = new TreeMap<>(s.roles());
    roles.put(name, nr);
    w.put(key(ROLE, name), nr.toByteArray());
    commit(w, s.with(s.enabled(), s.revision() + 1, s.users(), roles));
  }

  private void commit(AuthWrites w, AuthState next) {
    w.put(REVISION, ByteBuffer.allocate(8).putLong(next.revision()).array());
    state = next;
  }

  private static void putUser(AuthWrites w, User u) {
    w.put(key(USER, u.getName().toStringUtf8()), u.toByteArray());
  }

  /** The auth row key of a user ({@link #USER}) or role ({@link #ROLE}) named {@code name}. */
  public static byte[] key(String prefix, String name) {
    return (prefix + name).getBytes(StandardCharsets.UTF_8);
  }
}
