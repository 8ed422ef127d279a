package io.etcetera.tls.pem;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * Reads PEM files as real PKIs write them (cfssl, openssl, kubeadm): certificate chains and CA
 * bundles with several certificates, and private keys as RSA PKCS#1 ("RSA PRIVATE KEY"), PKCS#8
 * ("PRIVATE KEY") or EC SEC1 ("EC PRIVATE KEY", with or without an "EC PARAMETERS" block before
 * it). Stateless.
 */
public final class PemFiles {
  static {
    if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
      Security.addProvider(new BouncyCastleProvider());
    }
  }

  private PemFiles() {}

  /** Every certificate in {@code file}, in file order (leaf first for a chain). */
  public static List<X509Certificate> certificates(Path file) throws IOException {
    try {
      return readCertificates(file);
    } catch (RuntimeException e) {
      throw new IOException("cannot parse " + file + ": " + e.getMessage(), e); // bad base64 and the like
    }
  }

  private static List<X509Certificate> readCertificates(Path file) throws IOException {
    List<X509Certificate> out = new ArrayList<>();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
      JcaX509CertificateConverter conv = new JcaX509CertificateConverter();
      for (Object o; (o = p.readObject()) != null; ) {
        if (o instanceof X509CertificateHolder h) {
          out.add(conv.getCertificate(h));
        }
      }
    } catch (CertificateException e) {
      throw new IOException("bad certificate in " + file + ": " + e.getMessage(), e);
    }
    if (out.isEmpty()) {
      throw new IOException("no certificate found in " + file);
    }
    return out;
  }

  /** The certificate revocation lists in {@code file} (PEM "X509 CRL" blocks, or one DER list), in order. */
  public static List<java.security.cert.X509CRL> crls(Path file) throws IOException {
    List<java.security.cert.X509CRL> out = new ArrayList<>();
    try (java.io.InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file))) {
      for (java.security.cert.CRL crl : java.security.cert.CertificateFactory.getInstance("X.509").generateCRLs(in)) {
        out.add((java.security.cert.X509CRL) crl);
      }
    } catch (java.security.cert.CRLException | CertificateException | RuntimeException e) {
      throw new IOException("cannot parse the revocation list " + file + ": " + e.getMessage(), e);
    }
    if (out.isEmpty()) {
      throw new IOException("no revocation list found in " + file);
    }
    return out;
  }

  /** The public key in {@code file}: a "PUBLIC KEY" block, or the key of the first certificate. */
  public static java.security.PublicKey publicKey(Path file) throws IOException {
    try {
      return readPublicKey(file);
    } catch (RuntimeException e) {
      throw new IOException("cannot parse " + file + ": " + e.getMessage(), e);
    }
  }

  private static java.security.PublicKey readPublicKey(Path file) throws IOException {
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
      JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
      for (Object o; (o = p.readObject()) != null; ) {
        if (o instanceof org.bouncycastle.asn1.x509.SubjectPublicKeyInfo info) {
          return conv.getPublicKey(info);
        }
        if (o instanceof X509CertificateHolder h) {
          return conv.getPublicKey(h.getSubjectPublicKeyInfo());
        }
        if (o instanceof PEMKeyPair kp && kp.getPublicKeyInfo() != null) {
          return conv.getPublicKey(kp.getPublicKeyInfo());
        }
      }
    }
    throw new IOException("no public key found in " + file);
  }

  /** The private key in {@code file}. */
  public static PrivateKey privateKey(Path file) throws IOException {
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
      JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
      for (Object o; (o = p.readObject()) != null; ) {
        if (o instanceof PEMKeyPair kp) {
          return conv.getPrivateKey(kp.getPrivateKeyInfo()); // the public half may be absent
        }
        if (o instanceof PrivateKeyInfo info) {
          return conv.getPrivateKey(info);
        }
        if (o instanceof org.bouncycastle.openssl.PEMEncryptedKeyPair
            || o instanceof org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo) {
          throw new IOException("the private key in " + file + " is encrypted; give an unencrypted key, as etcd needs");
        }
        // EC PARAMETERS and anything else before the key are skipped
      }
    } catch (RuntimeException e) {
      throw new IOException("cannot parse " + file + ": " + e.getMessage(), e);
    }
    throw new IOException("no private key found in " + file + " (expected RSA PKCS#1, PKCS#8 or EC SEC1 PEM)");
  }
}
