package io.etcetera.mvcc.auth;

import io.etcetera.mvcc.lease.Ticker;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * etcd's simple tokens: a random 16-letter prefix minted where the client authenticates, the log
 * index appended when the Authenticate entry is applied, valid for {@code ttl} after its last use
 * ({@code --auth-token-ttl}, 300 s by default). Tokens live in memory only, as etcd's do: a
 * restart asks clients to authenticate again. A user's tokens die with a password change or the
 * user's deletion, and all tokens die when auth is disabled.
 *
 * <p>Threading: thread-safe (a concurrent map; assignment happens on the apply thread).
 */
public final class SimpleTokens implements TokenProvider {
  private static final String LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  private static final SecureRandom RANDOM = new SecureRandom();

  private record Entry(String user, long revision, long deadline) {}

  private final Map<String, Entry> tokens = new ConcurrentHashMap<>();
  private final Ticker ticker;
  private final long ttlNanos;

  public SimpleTokens(Ticker ticker, long ttlSeconds) {
    this.ticker = ticker;
    this.ttlNanos = Math.max(1, ttlSeconds) * 1_000_000_000L;
  }

  /** A fresh random prefix, minted before the Authenticate entry is proposed. */
  public static String newPrefix() {
    StringBuilder b = new StringBuilder(16);
    for (int i = 0; i < 16; i++) {
      b.append(LETTERS.charAt(RANDOM.nextInt(LETTERS.length())));
    }
    return b.toString();
  }

  /** Apply thread: the token of an applied Authenticate entry. */
  @Override
  public String assign(String prefix, long index, String user, long authRevision) {
    String token = prefix + "." + index;
    tokens.put(token, new Entry(user, authRevision, ticker.nanos() + ttlNanos));
    return token;
  }

  /** Who holds {@code token}, or null if it is unknown or expired; using it extends its life. */
  @Override
  public AuthInfo info(String token, long currentRevision) {
    Entry e = tokens.get(token);
    if (e == null) {
      return null;
    }
    long now = ticker.nanos();
    if (e.deadline() <= now) {
      tokens.remove(token, e);
      return null;
    }
    tokens.replace(token, e, new Entry(e.user(), e.revision(), now + ttlNanos));
    return new AuthInfo(e.user(), currentRevision);
  }

  @Override
  public void invalidateUser(String user) {
    tokens.values().removeIf(e -> e.user().equals(user));
  }

  @Override
  public void clear() {
    tokens.clear();
  }
}
