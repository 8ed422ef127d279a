package io.etcetera.tls.gen;

import java.math.BigInteger;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Makes certificates for tests, for {@code etcetera certs} and for {@code --auto-tls}: a CA, and
 * leaf certificates signed by it (server, client or both usages; SANs from host names and IP
 * addresses; the common name is the etcd user for CN-based auth). EC P-256 keys by default, RSA on
 * request. Stateless.
 */
public final class CertificateGenerator {
  static {
    if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
      Security.addProvider(new BouncyCastleProvider());
    }
  }

  private static final SecureRandom RANDOM = new SecureRandom();

  /** The key algorithm of a generated certificate. */
  public enum KeyType { EC, RSA }

  private CertificateGenerator() {}

  public static KeyPair keyPair(KeyType type) {
    try {
      if (type == KeyType.RSA) {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048, RANDOM);
        return g.generateKeyPair();
      }
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A self-signed CA valid from now for {@code validity}. */
  public static Issued ca(String commonName, Duration validity, KeyType type) {
    KeyPair kp = keyPair(type);
    X500Name name = new X500Name("CN=" + commonName + ",O=etcetera");
    Instant now = Instant.now();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minusSeconds(60)),
          Date.from(now.plus(validity)), name, kp.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      return new Issued(sign(b, kp, type), kp);
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A leaf certificate signed by {@code ca}.
   *
   * @param hosts DNS names and IP addresses for the subject alternative names
   * @param notBefore start of validity (a past pair of dates makes an expired certificate for tests)
   */
  public static Issued leaf(Issued ca, String commonName, List<String> hosts, boolean serverAuth, boolean clientAuth,
      Instant notBefore, Instant notAfter, KeyType type) {
    KeyPair kp = keyPair(type);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      // the CA's subject exactly as encoded (getName() would reverse the RDN order)
      X500Name issuer = X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded());
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, serial(), Date.from(notBefore),
          Date.from(notAfter), new X500Name("CN=" + commonName + ",O=etcetera"), kp.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
          .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca.certificate()))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      List<KeyPurposeId> usages = new ArrayList<>();
      if (serverAuth) {
        usages.add(KeyPurposeId.id_kp_serverAuth);
      }
      if (clientAuth) {
        usages.add(KeyPurposeId.id_kp_clientAuth);
      }
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(usages.toArray(new KeyPurposeId[0])));
      if (!hosts.isEmpty()) {
        List<GeneralName> names = new ArrayList<>();
        for (String h : hosts) {
          names.add(isIp(h) ? new GeneralName(GeneralName.iPAddress, h) : new GeneralName(GeneralName.dNSName, h));
        }
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(new GeneralName[0])));
      }
      KeyType caType = ca.keys().getPrivate().getAlgorithm().equals("RSA") ? KeyType.RSA : KeyType.EC;
      return new Issued(sign(b, ca.keys(), caType), kp);
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A leaf valid from a minute ago for {@code validity}. */
  public static Issued leaf(Issued ca, String commonName, List<String> hosts, boolean serverAuth, boolean clientAuth,
      Duration validity) {
    Instant now = Instant.now();
    return leaf(ca, commonName, hosts, serverAuth, clientAuth, now.minusSeconds(60), now.plus(validity), KeyType.EC);
  }

  /**
   * A certificate revocation list issued by {@code ca} that revokes {@code revoked} (for tests and
   * for an operator's {@code --client-crl-file}), written as a PEM "X509 CRL" block to {@code file}.
   */
  public static void crl(Issued ca, List<X509Certificate> revoked, java.nio.file.Path file) {
    try {
      X500Name issuer = X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded());
      Instant now = Instant.now();
      org.bouncycastle.cert.X509v2CRLBuilder b = new org.bouncycastle.cert.X509v2CRLBuilder(issuer, Date.from(now.minusSeconds(60)));
      b.setNextUpdate(Date.from(now.plus(Duration.ofDays(30))));
      for (X509Certificate c : revoked) {
        b.addCRLEntry(c.getSerialNumber(), Date.from(now.minusSeconds(30)), org.bouncycastle.asn1.x509.CRLReason.keyCompromise);
      }
      String alg = ca.keys().getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
      org.bouncycastle.operator.ContentSigner signer =
          new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder(alg).build(ca.keys().getPrivate());
      java.security.cert.X509CRL crl = new org.bouncycastle.cert.jcajce.JcaX509CRLConverter().getCRL(b.build(signer));
      try (java.io.Writer w = java.nio.file.Files.newBufferedWriter(file, java.nio.charset.StandardCharsets.US_ASCII);
          org.bouncycastle.openssl.jcajce.JcaPEMWriter pem = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(w)) {
        pem.writeObject(crl);
      }
    } catch (GeneralSecurityException | org.bouncycastle.operator.OperatorCreationException | java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A self-signed server-and-client certificate, as etcd's {@code --auto-tls} makes. */
  public static Issued selfSigned(String commonName, List<String> hosts, Duration validity) {
    KeyPair kp = keyPair(KeyType.EC);
    X500Name name = new X500Name("CN=" + commonName + ",O=etcetera");
    Instant now = Instant.now();
    try {
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minusSeconds(60)),
          Date.from(now.plus(validity)), name, kp.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
          .addExtension(Extension.extendedKeyUsage, false,
              new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      if (!hosts.isEmpty()) {
        List<GeneralName> names = new ArrayList<>();
        for (String h : hosts) {
          names.add(isIp(h) ? new GeneralName(GeneralName.iPAddress, h) : new GeneralName(GeneralName.dNSName, h));
        }
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(new GeneralName[0])));
      }
      return new Issued(sign(b, kp, KeyType.EC), kp); // subject = issuer, signed by its own key
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer, KeyType type) throws GeneralSecurityException {
    try {
      String alg = type == KeyType.RSA ? "SHA256withRSA" : "SHA256withECDSA";
      return new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder(alg).build(signer.getPrivate())));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(64, RANDOM).abs().add(BigInteger.ONE);
  }

  static boolean isIp(String h) {
    if (h.matches("[0-9.]+") || h.contains(":")) {
      try {
        InetAddress.getByName(h);
        return true;
      } catch (java.net.UnknownHostException e) {
        return false;
      }
    }
    return false;
  }
}
