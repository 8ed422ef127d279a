package io.etcetera.mvcc.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.etcetera.api.authpb.Permission;
import io.etcetera.api.authpb.UserAddOptions;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.mvcc.backend.Backend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

/**
 * An {@link AuthStore} over a real backend, without the rest of the state machine: each change
 * runs with a fresh write batch that is committed afterwards (also when the change fails, as the
 * applier commits the entry's batch), and the rows it staged are recorded.
 */
final class AuthRig implements AutoCloseable {
  static final int COST = 4; // bcrypt's minimum: fast tests

  private final Path dir;
  Backend backend;
  AuthStore auth;
  /** Rows staged by the last change: "put KEY" / "delete KEY". */
  final List<String> staged = new ArrayList<>();

  AuthRig(Path dir) {
    this.dir = dir;
    open();
  }

  private void open() {
    backend = Backend.open(dir, false);
    auth = new AuthStore();
    auth.recover(backend);
  }

  /** Closes the backend and recovers a new store from it. */
  void reopen() {
    backend.close();
    open();
  }

  @Override
  public void close() {
    backend.close();
  }

  void change(Consumer<AuthStore.AuthWrites> op) {
    staged.clear();
    try (WriteBatch b = new WriteBatch()) {
      try {
        op.accept(new AuthStore.AuthWrites() {
          @Override
          public void put(byte[] key, byte[] value) {
            staged.add("put " + new String(key, StandardCharsets.UTF_8));
            try {
              b.put(backend.auth(), key, value);
            } catch (RocksDBException e) {
              throw new IllegalStateException(e);
            }
          }

          @Override
          public void delete(byte[] key) {
            staged.add("delete " + new String(key, StandardCharsets.UTF_8));
            try {
              b.delete(backend.auth(), key);
            } catch (RocksDBException e) {
              throw new IllegalStateException(e);
            }
          }
        });
      } finally {
        backend.commit(b, false);
      }
    }
  }

  /** {@code op} must fail with {@code error}, staging nothing and leaving the revision alone. */
  void refused(EtcdError error, Consumer<AuthStore.AuthWrites> op) {
    long rev = auth.revision();
    AuthState before = auth.state();
    EtcdException e = assertThrows(EtcdException.class, () -> change(op));
    assertEquals(error, e.error());
    assertEquals(error.message(), e.getMessage());
    assertEquals(List.of(), staged, "a refused change stages nothing");
    assertEquals(rev, auth.revision(), "a refused change keeps the auth revision");
    assertEquals(before, auth.state());
  }

  // ---- shorthands

  static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  static Permission perm(Permission.Type type, String key, String end) {
    return Permission.newBuilder().setPermType(type).setKey(bs(key)).setRangeEnd(bs(end)).build();
  }

  void userAdd(String name, String password) {
    change(w -> auth.userAdd(w, name, Passwords.hash(password, COST), UserAddOptions.getDefaultInstance()));
  }

  void userAddNoPassword(String name) {
    change(w -> auth.userAdd(w, name, "", UserAddOptions.newBuilder().setNoPassword(true).build()));
  }

  void roleAdd(String name) {
    change(w -> auth.roleAdd(w, name));
  }

  void grantRole(String user, String role) {
    change(w -> auth.userGrantRole(w, user, role));
  }

  void grantPermission(String role, Permission p) {
    change(w -> auth.roleGrantPermission(w, role, p));
  }

  /** root with the root role and password "rootpw", then auth enabled. */
  void enableWithRoot() {
    userAdd("root", "rootpw");
    grantRole("root", "root");
    change(w -> auth.enable(w));
  }

  /** Who a token issued now would name: the user at the current auth revision. */
  AuthInfo who(String user) {
    return new AuthInfo(user, auth.revision());
  }
}
