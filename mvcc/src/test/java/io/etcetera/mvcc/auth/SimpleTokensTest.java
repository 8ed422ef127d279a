package io.etcetera.mvcc.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.mvcc.testutil.ApplyFixture.FakeTicker;
import org.junit.jupiter.api.Test;

class SimpleTokensTest {
  final FakeTicker ticker = new FakeTicker(5_000_000_000L);
  final SimpleTokens tokens = new SimpleTokens(ticker, 300);

  @Test
  void prefixIsSixteenLetters() {
    String p = SimpleTokens.newPrefix();
    assertTrue(p.matches("[a-zA-Z]{16}"), p);
    assertNotEquals(p, SimpleTokens.newPrefix());
  }

  @Test
  void tokenIsPrefixDotIndexAndNamesTheUserAtTheCurrentRevision() {
    String t = tokens.assign("abcdefghijklmnop", 42, "alice", 7);
    assertEquals("abcdefghijklmnop.42", t);
    assertEquals(new AuthInfo("alice", 9), tokens.info(t, 9), "etcd's simple token carries the current revision");
    assertNull(tokens.info("abcdefghijklmnop.43", 9));
    assertNull(tokens.info("abcdefghijklmnop", 9));
    assertNull(tokens.info("", 9));
  }

  @Test
  void expiresAfterTheTtl() {
    String t = tokens.assign("p", 1, "alice", 1);
    ticker.advanceSeconds(299);
    ticker.advanceMillis(999);
    String u = tokens.assign("q", 2, "bob", 1);
    ticker.advanceMillis(2);
    assertNull(tokens.info(t, 1), "past 300 s");
    assertEquals("bob", tokens.info(u, 1).username());
    assertNull(tokens.info(t, 1), "an expired token stays dead");
  }

  @Test
  void useExtendsTheLife() {
    String t = tokens.assign("p", 1, "alice", 1);
    for (int i = 0; i < 10; i++) {
      ticker.advanceSeconds(200);
      assertEquals("alice", tokens.info(t, 1).username(), "used every 200 s: alive after " + (i + 1) * 200 + " s");
    }
    ticker.advanceSeconds(299);
    assertEquals("alice", tokens.info(t, 1).username());
    ticker.advanceSeconds(301);
    assertNull(tokens.info(t, 1));
  }

  @Test
  void invalidateUserAndClear() {
    String a1 = tokens.assign("a", 1, "alice", 1);
    String a2 = tokens.assign("b", 2, "alice", 1);
    String b1 = tokens.assign("c", 3, "bob", 1);
    tokens.invalidateUser("alice");
    assertNull(tokens.info(a1, 1));
    assertNull(tokens.info(a2, 1));
    assertEquals("bob", tokens.info(b1, 1).username());
    tokens.clear();
    assertNull(tokens.info(b1, 1));
  }

  @Test
  void aZeroTtlStillLivesASecond() {
    SimpleTokens s = new SimpleTokens(ticker, 0);
    String t = s.assign("p", 1, "alice", 1);
    ticker.advanceMillis(900);
    assertEquals("alice", s.info(t, 1).username());
    ticker.advanceMillis(1100);
    assertNull(s.info(t, 1));
  }
}
