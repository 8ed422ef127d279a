package io.etcetera.mvcc.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.time.Clock;
import java.util.Base64;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * etcd's JWT tokens ({@code --auth-token=jwt,pub-key=…,priv-key=…,sign-method=RS256,ttl=5m}): a
 * signed JWT with the claims {@code username}, {@code revision} and {@code exp}, as etcd's
 * tokenJWT makes them, so a token minted by either server verifies on the other. Supported sign
 * methods: RS256/384/512, PS256/384/512, ES256/384/512, HS256/384/512. A member with only the
 * public key verifies tokens but cannot mint them. Tokens cannot be revoked: they expire, and a
 * token older than the auth revision is refused at apply. Thread-safe (immutable).
 */
public final class JwtTokens implements TokenProvider {
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder B64D = Base64.getUrlDecoder();
  private static final Pattern USERNAME = Pattern.compile("\"username\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");
  private static final Pattern REVISION = Pattern.compile("\"revision\"\\s*:\\s*([0-9.eE+]+)");
  private static final Pattern EXP = Pattern.compile("\"exp\"\\s*:\\s*([0-9.eE+]+)");
  private static final Pattern ALG = Pattern.compile("\"alg\"\\s*:\\s*\"([A-Za-z0-9]+)\"");

  private final String alg;
  private final PrivateKey privateKey;
  private final PublicKey publicKey;
  private final byte[] hmacKey;
  private final long ttlSeconds;
  private final Clock clock;

  /**
   * @param alg the JWS algorithm name (RS256 ...)
   * @param privateKey signs (may be null for a verify-only member); for HS* use {@code hmacKey}
   * @param publicKey verifies (the private key's public half when null is given for RSA/EC is not derivable here: pass it)
   */
  public JwtTokens(String alg, PrivateKey privateKey, PublicKey publicKey, byte[] hmacKey, long ttlSeconds, Clock clock) {
    this.alg = alg.toUpperCase(Locale.ROOT);
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.hmacKey = hmacKey;
    this.ttlSeconds = ttlSeconds;
    this.clock = clock;
    if (!this.alg.matches("(RS|PS|ES|HS)(256|384|512)")) {
      throw new IllegalArgumentException("unsupported JWT sign-method " + alg);
    }
    if (this.alg.startsWith("HS") ? hmacKey == null || hmacKey.length == 0 : privateKey == null && publicKey == null) {
      throw new IllegalArgumentException("JWT sign-method " + alg + " needs a key (priv-key or pub-key)");
    }
  }

  @Override
  public String assign(String prefix, long index, String user, long authRevision) {
    if (!alg.startsWith("HS") && privateKey == null) {
      throw new IllegalStateException("this member only verifies JWT tokens (no priv-key)");
    }
    String header = "{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}";
    long exp = clock.instant().getEpochSecond() + ttlSeconds;
    String claims = "{\"exp\":" + exp + ",\"revision\":" + authRevision + ",\"username\":\"" + escape(user) + "\"}";
    String signingInput = B64.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
        + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    try {
      return signingInput + "." + B64.encodeToString(sign(signingInput.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign a JWT token", e);
    }
  }

  @Override
  public AuthInfo info(String token, long currentRevision) {
    String[] parts = token.split("\\.");
    if (parts.length != 3) {
      return null;
    }
    try {
      String header = new String(B64D.decode(parts[0]), StandardCharsets.UTF_8);
      Matcher a = ALG.matcher(header);
      if (!a.find() || !a.group(1).equals(alg)) {
        return null; // etcd: "invalid signing method"
      }
      if (!verify((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII), B64D.decode(parts[2]))) {
        return null;
      }
      String claims = new String(B64D.decode(parts[1]), StandardCharsets.UTF_8);
      Matcher u = USERNAME.matcher(claims);
      Matcher r = REVISION.matcher(claims);
      if (!u.find() || !r.find()) {
        return null;
      }
      Matcher e = EXP.matcher(claims);
      if (e.find() && (long) Double.parseDouble(e.group(1)) < clock.instant().getEpochSecond()) {
        return null; // expired
      }
      return new AuthInfo(unescape(u.group(1)), (long) Double.parseDouble(r.group(1)));
    } catch (IllegalArgumentException | GeneralSecurityException ex) {
      return null;
    }
  }

  @Override
  public void invalidateUser(String user) {
    // a JWT stays valid until it expires, as in etcd
  }

  @Override
  public void clear() {
    // a JWT stays valid until it expires, as in etcd
  }

  private String bits() {
    return alg.substring(2);
  }

  private byte[] sign(byte[] input) throws GeneralSecurityException {
    if (alg.startsWith("HS")) {
      Mac mac = Mac.getInstance("HmacSHA" + bits());
      mac.init(new SecretKeySpec(hmacKey, "HmacSHA" + bits()));
      return mac.doFinal(input);
    }
    Signature s = signature();
    s.initSign(privateKey);
    s.update(input);
    return s.sign();
  }

  private boolean verify(byte[] input, byte[] sig) throws GeneralSecurityException {
    if (alg.startsWith("HS")) {
      return java.security.MessageDigest.isEqual(sign(input), sig);
    }
    Signature s = signature();
    s.initVerify(publicKey);
    s.update(input);
    return s.verify(sig);
  }

  private Signature signature() throws GeneralSecurityException {
    String b = bits();
    switch (alg.substring(0, 2)) {
      case "RS":
        return Signature.getInstance("SHA" + b + "withRSA");
      case "ES":
        return Signature.getInstance("SHA" + b + "withECDSAinP1363Format");
      default: {
        Signature s = Signature.getInstance("RSASSA-PSS");
        String digest = "SHA-" + b;
        s.setParameter(new PSSParameterSpec(digest, "MGF1", new MGF1ParameterSpec(digest), Integer.parseInt(b) / 8, 1));
        return s;
      }
    }
  }

  private static String escape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }

  private static String unescape(String s) {
    return s.replace("\\\"", "\"").replace("\\\\", "\\");
  }
}
