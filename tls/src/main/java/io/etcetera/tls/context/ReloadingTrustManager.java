package io.etcetera.tls.context;

import io.etcetera.tls.pem.PemFiles;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A trust manager for the CA bundle of one PEM file (every certificate in it is trusted),
 * re-read when the file changes (checked at most every 100 ms). Verifies chains, validity dates
 * and key usage as the JDK's PKIX trust manager does.
 *
 * <p>Threading: thread-safe; the current delegate is swapped atomically.
 */
public final class ReloadingTrustManager extends X509ExtendedTrustManager {
  private static final Logger log = LoggerFactory.getLogger(ReloadingTrustManager.class);
  /** File changes are looked for at most this often (a stat per file), on handshakes. */
  private static final long CHECK_INTERVAL_MILLIS = 100;

  private final Path caFile;
  private volatile X509ExtendedTrustManager delegate;
  private volatile long stamp;
  private volatile long lastCheck;

  public ReloadingTrustManager(Path caFile) throws IOException {
    this.caFile = caFile;
    this.delegate = load();
    this.stamp = stamp();
  }

  private long stamp() throws IOException {
    return Files.getLastModifiedTime(caFile).toMillis() + 31 * Files.size(caFile);
  }

  private X509ExtendedTrustManager load() throws IOException {
    List<X509Certificate> cas = PemFiles.certificates(caFile);
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      int i = 0;
      for (X509Certificate c : cas) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(ks);
      return (X509ExtendedTrustManager) tmf.getTrustManagers()[0];
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot use CA bundle " + caFile + ": " + e.getMessage(), e);
    }
  }

  private X509ExtendedTrustManager current() {
    long now = System.currentTimeMillis();
    if (now - lastCheck >= CHECK_INTERVAL_MILLIS) {
      lastCheck = now;
      try {
        long s = stamp();
        if (s != stamp) {
          delegate = load();
          stamp = s;
          log.info("reloaded CA bundle {}", caFile);
        }
      } catch (IOException | RuntimeException e) {
        log.warn("cannot reload CA bundle {} (keeping the previous one): {}", caFile, e.getMessage());
      }
    }
    return delegate;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    current().checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    current().checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    current().checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    current().checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    current().checkClientTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    current().checkServerTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return current().getAcceptedIssuers();
  }
}
