package io.etcetera.tls;

import io.etcetera.tls.gen.CertificateGenerator;
import io.etcetera.tls.gen.Issued;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Leaves built in the test with BouncyCastle directly (issuer taken from the CA certificate's
 * encoded subject), so trust-manager tests do not depend on {@link CertificateGenerator#leaf}.
 */
public final class TestCerts {
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  private TestCerts() {}

  public static Issued leaf(Issued ca, String cn, Instant notBefore, Instant notAfter, boolean server, boolean client)
      throws Exception {
    KeyPair kp = CertificateGenerator.keyPair(CertificateGenerator.KeyType.EC);
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca.certificate(),
        BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(notBefore), Date.from(notAfter),
        new X500Name("CN=" + cn), kp.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
    List<KeyPurposeId> eku = new ArrayList<>();
    if (server) {
      eku.add(KeyPurposeId.id_kp_serverAuth);
    }
    if (client) {
      eku.add(KeyPurposeId.id_kp_clientAuth);
    }
    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(eku.toArray(new KeyPurposeId[0])));
    String alg = ca.keys().getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
    X509Certificate c = new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder(alg).build(ca.keys().getPrivate())));
    return new Issued(c, kp);
  }
}
