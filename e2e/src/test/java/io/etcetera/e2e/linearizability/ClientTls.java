package io.etcetera.e2e.linearizability;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Path;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * TLS settings for {@link LinearizabilityWorkload}'s channels, as PEM files: the CA that signed the
 * members' server certificates and, for client-certificate auth, the client certificate and its
 * private key (PKCS#8, which Netty reads without extra providers; {@code null} for neither).
 *
 * <p>The server certificate must name the endpoint's host (an IP subject alternative name for
 * 127.0.0.x endpoints): the host of the endpoint URL is verified.
 */
public record ClientTls(Path ca, Path cert, Path key) {

  public ClientTls {
    Objects.requireNonNull(ca, "ca");
    if ((cert == null) != (key == null)) throw new IllegalArgumentException("cert and key go together");
  }

  /** Server verification only, no client certificate. */
  public static ClientTls trusting(Path ca) {
    return new ClientTls(ca, null, null);
  }

  SslContext sslContext() {
    try {
      SslContextBuilder b = GrpcSslContexts.forClient().trustManager(ca.toFile());
      if (cert != null) b.keyManager(cert.toFile(), key.toFile());
      return b.build();
    } catch (SSLException e) {
      throw new IllegalArgumentException("cannot build a TLS context from " + this + ": " + e.getMessage(), e);
    }
  }
}
