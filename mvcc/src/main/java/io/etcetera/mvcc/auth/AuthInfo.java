package io.etcetera.mvcc.auth;

/**
 * Who makes a request and against which auth revision their identity was checked (etcd's
 * AuthInfo). {@code revision} 0 means no user at all. Immutable.
 */
public record AuthInfo(String username, long revision) {
  public static final AuthInfo NONE = new AuthInfo("", 0);

  public boolean isEmpty() {
    return username.isEmpty();
  }
}
