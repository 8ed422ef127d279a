package io.etcetera.server.auth;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.mvcc.auth.AuthInfo;
import io.etcetera.mvcc.auth.AuthStore;
import io.etcetera.mvcc.auth.TokenProvider;

/**
 * Who the current gRPC call is, as etcd's AuthInfoFromCtx: a token, when sent, must be valid
 * (else etcd's "invalid auth token"); without one, the verified client certificate's common name
 * names the user when {@code --client-cert-auth} is on; otherwise nobody ({@link AuthInfo#NONE}).
 * Thread-safe.
 */
public final class Authenticator {
  private final AuthStore auth;
  private final TokenProvider tokens;
  private final boolean clientCertAuth;

  public Authenticator(AuthStore auth, TokenProvider tokens, boolean clientCertAuth) {
    this.auth = auth;
    this.tokens = tokens;
    this.clientCertAuth = clientCertAuth;
  }

  public AuthStore store() {
    return auth;
  }

  public TokenProvider tokens() {
    return tokens;
  }

  /** The caller of the current call; throws INVALID_AUTH_TOKEN for a token that is not (or no longer) valid. */
  public AuthInfo current() {
    String token = CallIdentity.TOKEN.get();
    if (token != null) {
      AuthInfo ai = tokens.info(token, auth.revision());
      if (ai == null) {
        throw EtcdError.INVALID_AUTH_TOKEN.exception();
      }
      return ai;
    }
    String cn = CallIdentity.CERT_CN.get();
    if (cn != null && clientCertAuth) {
      return new AuthInfo(cn, auth.revision());
    }
    return AuthInfo.NONE;
  }
}
