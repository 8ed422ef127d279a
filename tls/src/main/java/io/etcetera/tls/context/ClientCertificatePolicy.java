package io.etcetera.tls.context;

import io.etcetera.tls.pem.PemFiles;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * etcd's extra checks of the certificates a listener's clients present, on top of the chain's
 * verification by {@code delegate}: {@code --client-crl-file} / {@code --peer-crl-file} (no
 * certificate of the chain may be on the revocation list), {@code --peer-cert-allowed-cn} (the
 * client certificate's Common Name must be that name) and {@code --client-cert-allowed-hostname} /
 * {@code --peer-cert-allowed-hostname} (the certificate must be valid for that host name, by its
 * DNS or IP subject alternative names; etcd refuses the name and the CN together, and so does the
 * configuration). A refusal fails the TLS handshake with etcd's reason.
 * The other side's checks (verifying servers) are the delegate's alone, as in etcd.
 *
 * <p>Threading: thread-safe; the revocation list is re-read when its file changes (at most every
 * 100 ms, on handshakes) and kept while a new version cannot be read.
 */
public final class ClientCertificatePolicy extends X509ExtendedTrustManager {
  private static final long CHECK_INTERVAL_MILLIS = 100;

  private final X509ExtendedTrustManager delegate;
  private final Path crlFile;
  private final String allowedCn;
  private final String allowedHostname;
  private volatile List<X509CRL> crls;
  private volatile long crlStamp;
  private volatile long lastCheck;

  /**
   * @param crlFile a PEM or DER revocation list, or null
   * @param allowedCn the only Common Name accepted, or null/empty
   * @param allowedHostname a host name the certificate must be valid for, or null/empty
   */
  public ClientCertificatePolicy(X509ExtendedTrustManager delegate, Path crlFile, String allowedCn, String allowedHostname)
      throws IOException {
    this.delegate = delegate;
    this.crlFile = crlFile;
    this.allowedCn = allowedCn == null || allowedCn.isEmpty() ? null : allowedCn;
    this.allowedHostname = allowedHostname == null || allowedHostname.isEmpty() ? null : allowedHostname;
    if (crlFile != null) {
      this.crls = PemFiles.crls(crlFile);
      this.crlStamp = stamp(crlFile);
    }
  }

  /** {@code delegate} with the checks asked for (empty or null: not asked), or {@code delegate} alone. */
  public static X509ExtendedTrustManager wrap(X509ExtendedTrustManager delegate, String crlFile, String allowedCn,
      String allowedHostname) throws IOException {
    boolean crl = crlFile != null && !crlFile.isEmpty();
    if (!crl && (allowedCn == null || allowedCn.isEmpty()) && (allowedHostname == null || allowedHostname.isEmpty())) {
      return delegate;
    }
    return new ClientCertificatePolicy(delegate, crl ? Path.of(crlFile) : null, allowedCn, allowedHostname);
  }

  private static long stamp(Path f) throws IOException {
    return java.nio.file.Files.getLastModifiedTime(f).toMillis() + 31 * java.nio.file.Files.size(f);
  }

  private List<X509CRL> currentCrls() {
    long now = System.currentTimeMillis();
    if (now - lastCheck >= CHECK_INTERVAL_MILLIS) {
      lastCheck = now;
      try {
        long s = stamp(crlFile);
        if (s != crlStamp) {
          crls = PemFiles.crls(crlFile);
          crlStamp = s;
        }
      } catch (IOException | RuntimeException e) {
        // keep the list read last
      }
    }
    return crls;
  }

  /** etcd's checks of a verified client chain; leaf first. */
  void checkClient(X509Certificate[] chain) throws CertificateException {
    if (crlFile != null) {
      for (X509CRL crl : currentCrls()) {
        for (X509Certificate c : chain) {
          if (crl.isRevoked(c)) {
            throw new CertificateException("transport: certificate serial " + serialHex(c) + " revoked");
          }
        }
      }
    }
    X509Certificate leaf = chain[0];
    boolean refused = allowedCn != null ? !allowedCn.equals(commonName(leaf))
        : allowedHostname != null && !HostnameMatch.matches(leaf, allowedHostname);
    if (refused) {
      throw new CertificateException("client certificate authentication failed");
    }
  }

  /** The serial number as etcd prints it: Go's %x of its unsigned big-endian bytes. */
  static String serialHex(X509Certificate c) {
    byte[] b = c.getSerialNumber().toByteArray();
    int from = b.length > 1 && b[0] == 0 ? 1 : 0;
    return java.util.HexFormat.of().formatHex(b, from, b.length);
  }

  static String commonName(X509Certificate c) {
    try {
      for (Rdn rdn : new LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return String.valueOf(rdn.getValue());
        }
      }
    } catch (InvalidNameException e) {
      return null;
    }
    return null;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    delegate.checkClientTrusted(chain, authType, socket);
    checkClient(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    delegate.checkClientTrusted(chain, authType, engine);
    checkClient(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate.checkClientTrusted(chain, authType);
    checkClient(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    delegate.checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    delegate.checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate.checkServerTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return delegate.getAcceptedIssuers();
  }
}
