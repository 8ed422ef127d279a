package io.etcetera.server.auth;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Captures what identifies the caller of each gRPC call: the auth token from the {@code token}
 * metadata (or {@code authorization}, as etcd's gateway sends it) and, on a TLS connection that
 * verified a client certificate, the certificate's common name (etcd's CN-based identity).
 * Stateless.
 */
public final class CallIdentity implements ServerInterceptor {
  static final Context.Key<String> TOKEN = Context.key("etcetera-token");
  static final Context.Key<String> CERT_CN = Context.key("etcetera-cert-cn");
  private static final Metadata.Key<String> TOKEN_MD = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> AUTHORIZATION_MD = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String token = headers.get(TOKEN_MD);
    if (token == null) {
      token = headers.get(AUTHORIZATION_MD);
    }
    String cn = commonName(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (token == null && cn == null) {
      return next.startCall(call, headers);
    }
    Context ctx = Context.current();
    if (token != null) {
      ctx = ctx.withValue(TOKEN, token);
    }
    if (cn != null) {
      ctx = ctx.withValue(CERT_CN, cn);
    }
    return Contexts.interceptCall(ctx, call, headers, next);
  }

  static String commonName(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
        return null;
      }
      for (Rdn rdn : new LdapName(leaf.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return rdn.getValue().toString();
        }
      }
      return null;
    } catch (SSLPeerUnverifiedException e) {
      return null; // no client certificate
    } catch (javax.naming.InvalidNameException e) {
      return null;
    }
  }
}
