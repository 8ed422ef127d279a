package io.etcetera.tls;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;

/** Assertions on keys and certificates shared by the TLS tests. */
public final class KeyChecks {
  private KeyChecks() {}

  /** {@code key} is the private half of {@code cert}'s public key: a signature made with one verifies with the other. */
  public static void assertPair(PrivateKey key, X509Certificate cert) throws GeneralSecurityException {
    assertPair(key, cert.getPublicKey());
  }

  public static void assertPair(PrivateKey key, PublicKey pub) throws GeneralSecurityException {
    String alg = key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
    byte[] data = "etcetera".getBytes(StandardCharsets.US_ASCII);
    Signature s = Signature.getInstance(alg);
    s.initSign(key);
    s.update(data);
    byte[] sig = s.sign();
    Signature v = Signature.getInstance(alg);
    v.initVerify(pub);
    v.update(data);
    assertTrue(v.verify(sig), "the private key does not match the certificate's public key");
  }

  public static String cn(X509Certificate c) {
    String dn = c.getSubjectX500Principal().getName();
    for (String part : dn.split(",")) {
      if (part.startsWith("CN=")) {
        return part.substring(3);
      }
    }
    return null;
  }
}
