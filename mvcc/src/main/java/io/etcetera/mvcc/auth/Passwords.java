package io.etcetera.mvcc.auth;

import java.security.SecureRandom;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

/**
 * bcrypt password hashes as etcd stores them ({@code $2a$}, cost from {@code --bcrypt-cost}).
 * Hashing happens before a request is proposed (never in the apply loop, which must stay
 * deterministic); checking happens where a client authenticates. Stateless.
 */
public final class Passwords {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Passwords() {}

  public static String hash(String password, int cost) {
    byte[] salt = new byte[16];
    RANDOM.nextBytes(salt);
    return OpenBSDBCrypt.generate("2a", password.toCharArray(), salt, cost);
  }

  public static boolean matches(String password, byte[] hash) {
    if (hash == null || hash.length == 0) {
      return false;
    }
    try {
      return OpenBSDBCrypt.checkPassword(new String(hash, java.nio.charset.StandardCharsets.US_ASCII),
          password.toCharArray());
    } catch (RuntimeException e) {
      return false; // not a bcrypt hash (BouncyCastle throws several kinds)
    }
  }
}
