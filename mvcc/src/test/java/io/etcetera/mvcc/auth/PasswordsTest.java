package io.etcetera.mvcc.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PasswordsTest {
  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void hashIsBcrypt2aWithTheCost() {
    String h = Passwords.hash("secret", 4);
    assertTrue(h.startsWith("$2a$04$"), h);
    assertEquals(60, h.length());
    assertTrue(Passwords.hash("secret", 10).startsWith("$2a$10$"));
    assertNotEquals(h, Passwords.hash("secret", 4), "salted");
  }

  @Test
  void matches() {
    String h = Passwords.hash("secret", 4);
    assertTrue(Passwords.matches("secret", ascii(h)));
    assertFalse(Passwords.matches("Secret", ascii(h)));
    assertFalse(Passwords.matches("", ascii(h)));
    assertFalse(Passwords.matches("secret ", ascii(h)));
    String empty = Passwords.hash("", 4);
    assertTrue(Passwords.matches("", ascii(empty)));
    assertFalse(Passwords.matches("x", ascii(empty)));
  }

  @Test
  void unicodePasswordsAreUtf8() {
    String h = Passwords.hash("pässwörd-密码", 4);
    assertTrue(Passwords.matches("pässwörd-密码", ascii(h)));
    assertFalse(Passwords.matches("passwort-密码", ascii(h)));
  }

  @Test
  void knownVectorsFromOtherImplementations() {
    // crypt_blowfish / OpenBSD test vectors, as Go's golang.org/x/crypto/bcrypt produces them
    assertTrue(Passwords.matches("U*U", ascii("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")));
    assertTrue(Passwords.matches("", ascii("$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy")));
    assertFalse(Passwords.matches("U*V", ascii("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")));
  }

  @Test
  void noHashOrGarbageNeverMatches() {
    assertFalse(Passwords.matches("", null));
    assertFalse(Passwords.matches("", new byte[0]));
    assertFalse(Passwords.matches("secret", ascii("secret")));
    assertFalse(Passwords.matches("secret", ascii("$2a$04$short")));
    assertFalse(Passwords.matches("x", ascii("$1$abcdefgh$12345678901234567890")));
  }

  @Test
  void passwordsLongerThan72BytesWorkAsInGo() {
    // Go's bcrypt (golang.org/x/crypto as etcd 3.4 vendors it) uses the first 72 bytes.
    String longPw = "x".repeat(72) + "-tail-one";
    String h = Passwords.hash(longPw, 4);
    assertTrue(Passwords.matches(longPw, ascii(h)));
    assertTrue(Passwords.matches("x".repeat(72) + "-other-tail", ascii(h)));
    assertFalse(Passwords.matches("x".repeat(71), ascii(h)));
  }
}
