package io.etcetera.mvcc.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JwtTokensTest {
  private static final Clock NOW = Clock.fixed(Instant.parse("2026-11-30T00:00:00Z"), ZoneOffset.UTC);

  private static KeyPair keys(String alg) throws Exception {
    if (alg.startsWith("ES")) {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec(switch (alg) {
        case "ES256" -> "secp256r1";
        case "ES384" -> "secp384r1";
        default -> "secp521r1";
      }));
      return g.generateKeyPair();
    }
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  @ParameterizedTest
  @ValueSource(strings = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
  void aTokenMintedForAUserResolvesToThatUserAndTheRevisionItWasMintedAt(String alg) throws Exception {
    KeyPair kp = keys(alg);
    JwtTokens t = new JwtTokens(alg, kp.getPrivate(), kp.getPublic(), null, 300, NOW);
    String token = t.assign("ignored", 7, "alice", 12);
    assertEquals(new AuthInfo("alice", 12), t.info(token, 99));
    String header = new String(Base64.getUrlDecoder().decode(token.split("\\.")[0]), StandardCharsets.UTF_8);
    assertEquals("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}", header);
  }

  @Test
  void hmacTokensUseThePrivateKeyFileAsTheSecret() {
    JwtTokens t = new JwtTokens("HS256", null, null, "secret".getBytes(StandardCharsets.UTF_8), 300, NOW);
    assertEquals(new AuthInfo("root", 3), t.info(t.assign("", 1, "root", 3), 5));
    JwtTokens other = new JwtTokens("HS256", null, null, "other".getBytes(StandardCharsets.UTF_8), 300, NOW);
    assertNull(other.info(t.assign("", 1, "root", 3), 5));
  }

  @Test
  void anExpiredTamperedOrOtherAlgorithmTokenIsRefused() throws Exception {
    KeyPair kp = keys("RS256");
    JwtTokens t = new JwtTokens("RS256", kp.getPrivate(), kp.getPublic(), null, 60, NOW);
    String token = t.assign("", 1, "alice", 2);
    JwtTokens later = new JwtTokens("RS256", kp.getPrivate(), kp.getPublic(), null, 60,
        Clock.offset(NOW, Duration.ofSeconds(61)));
    assertNull(later.info(token, 2), "expired");
    String[] p = token.split("\\.");
    String forged = p[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
        "{\"exp\":9999999999,\"revision\":2,\"username\":\"root\"}".getBytes(StandardCharsets.UTF_8)) + "." + p[2];
    assertNull(t.info(forged, 2), "claims changed after signing");
    JwtTokens ps = new JwtTokens("PS256", kp.getPrivate(), kp.getPublic(), null, 60, NOW);
    assertNull(ps.info(token, 2), "a token of another algorithm");
    assertNull(t.info("not-a-jwt", 2));
  }

  @Test
  void aVerifyOnlyMemberCannotMint() throws Exception {
    KeyPair kp = keys("ES256");
    JwtTokens verifier = new JwtTokens("ES256", null, kp.getPublic(), null, 60, NOW);
    String token = new JwtTokens("ES256", kp.getPrivate(), kp.getPublic(), null, 60, NOW).assign("", 1, "bob", 4);
    assertEquals(new AuthInfo("bob", 4), verifier.info(token, 4));
    assertThrows(IllegalStateException.class, () -> verifier.assign("", 1, "bob", 4));
  }

  @Test
  void anRs256SignatureVerifiesWithOpenssl(@TempDir Path dir) throws Exception {
    KeyPair kp = keys("RS256");
    String token = new JwtTokens("RS256", kp.getPrivate(), kp.getPublic(), null, 60, NOW).assign("", 1, "carol", 9);
    String[] p = token.split("\\.");
    Path input = dir.resolve("input");
    Path sig = dir.resolve("sig");
    Path pub = dir.resolve("pub.pem");
    Files.writeString(input, p[0] + "." + p[1]);
    Files.write(sig, Base64.getUrlDecoder().decode(p[2]));
    Files.writeString(pub, "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(kp.getPublic().getEncoded())
        + "\n-----END PUBLIC KEY-----\n");
    Process openssl = new ProcessBuilder("openssl", "dgst", "-sha256", "-verify", pub.toString(), "-signature",
        sig.toString(), input.toString()).redirectErrorStream(true).start();
    String out = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, openssl.waitFor(), out);
    assertTrue(out.contains("Verified OK"), out);
  }
}
