package io.etcetera.server.grpc;

import com.google.protobuf.Message;
import io.etcetera.api.etcdserverpb.*;
import io.etcetera.mvcc.auth.Passwords;
import io.etcetera.mvcc.auth.SimpleTokens;
import io.etcetera.server.auth.Authenticator;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;

/**
 * etcd's Auth service. Every call is a log entry, checked at apply (most need the root role);
 * passwords are bcrypt-hashed here, before proposing, so no plain password reaches the log and
 * the apply loop stays deterministic. Authenticate checks the password here, mints the token's
 * random part, and lets the applied entry assign the token.
 *
 * <p>Threading: gRPC threads; bcrypt work runs on {@code hashing} so transport threads never wait on it.
 */
public final class AuthService extends AuthGrpc.AuthImplBase {
  private final Proposer proposer;
  private final HeaderFiller headers;
  private final Authenticator authenticator;
  private final int bcryptCost;
  private final Executor hashing;

  public AuthService(Proposer proposer, HeaderFiller headers, Authenticator authenticator, int bcryptCost, Executor hashing) {
    this.proposer = proposer;
    this.headers = headers;
    this.authenticator = authenticator;
    this.bcryptCost = bcryptCost;
    this.hashing = hashing;
  }

  private <T extends Message> void propose(InternalRaftRequest.Builder entry, StreamObserver<T> out,
      BiFunction<T, ResponseHeader, T> withHeader) {
    answer(proposer.propose(entry), out, withHeader);
  }

  @SuppressWarnings("unchecked")
  private <T extends Message> void answer(CompletableFuture<io.etcetera.mvcc.apply.Applied> f, StreamObserver<T> out,
      BiFunction<T, ResponseHeader, T> withHeader) {
    f.whenComplete((a, t) -> {
      if (t != null) {
        Replies.fail(out, t);
        return;
      }
      T r = (T) a.response();
      ResponseHeader h = (ResponseHeader) r.getField(r.getDescriptorForType().findFieldByName("header"));
      Replies.ok(out, withHeader.apply(r, headers.fill(h)));
    });
  }

  @Override
  public void authEnable(AuthEnableRequest r, StreamObserver<AuthEnableResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthEnable(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void authDisable(AuthDisableRequest r, StreamObserver<AuthDisableResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthDisable(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void authStatus(AuthStatusRequest r, StreamObserver<AuthStatusResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthStatus(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void authenticate(AuthenticateRequest r, StreamObserver<AuthenticateResponse> out) {
    // bcrypt is slow on purpose: check off the transport thread, inside the caller's context
    io.grpc.Context ctx = io.grpc.Context.current();
    CompletableFuture<io.etcetera.mvcc.apply.Applied> f = CompletableFuture.supplyAsync(() -> {
      authenticator.store().checkPassword(r.getName(), r.getPassword());
      return InternalAuthenticateRequest.newBuilder().setName(r.getName()).setSimpleToken(SimpleTokens.newPrefix()).build();
    }, hashing).thenCompose(entry -> inContext(ctx, () -> proposer.propose(InternalRaftRequest.newBuilder().setAuthenticate(entry))));
    answer(f, out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void userAdd(AuthUserAddRequest r, StreamObserver<AuthUserAddResponse> out) {
    if (r.getOptions().getNoPassword()) {
      propose(InternalRaftRequest.newBuilder().setAuthUserAdd(r.toBuilder().clearPassword()), out,
          (x, h) -> x.toBuilder().setHeader(h).build());
      return;
    }
    withHash(r.getPassword(), hash -> InternalRaftRequest.newBuilder()
        .setAuthUserAdd(r.toBuilder().clearPassword().setHashedPassword(hash)), out);
  }

  @Override
  public void userChangePassword(AuthUserChangePasswordRequest r, StreamObserver<AuthUserChangePasswordResponse> out) {
    withHash(r.getPassword(), hash -> InternalRaftRequest.newBuilder()
        .setAuthUserChangePassword(r.toBuilder().clearPassword().setHashedPassword(hash)), out);
  }

  private <T extends Message> void withHash(String password, java.util.function.Function<String, InternalRaftRequest.Builder> entry,
      StreamObserver<T> out) {
    io.grpc.Context ctx = io.grpc.Context.current();
    CompletableFuture<io.etcetera.mvcc.apply.Applied> f = CompletableFuture
        .supplyAsync(() -> Passwords.hash(password, bcryptCost), hashing)
        .thenCompose(hash -> inContext(ctx, () -> proposer.propose(entry.apply(hash))));
    answer(f, out, (x, h) -> withHeader(x, h));
  }

  /** Runs {@code work} with the caller's gRPC context (its identity) attached. */
  private static <T> T inContext(io.grpc.Context ctx, java.util.function.Supplier<T> work) {
    io.grpc.Context previous = ctx.attach();
    try {
      return work.get();
    } finally {
      ctx.detach(previous);
    }
  }

  @SuppressWarnings("unchecked")
  private static <T extends Message> T withHeader(T x, ResponseHeader h) {
    return (T) x.toBuilder().setField(x.getDescriptorForType().findFieldByName("header"), h).build();
  }

  @Override
  public void userGet(AuthUserGetRequest r, StreamObserver<AuthUserGetResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthUserGet(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void userList(AuthUserListRequest r, StreamObserver<AuthUserListResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthUserList(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void userDelete(AuthUserDeleteRequest r, StreamObserver<AuthUserDeleteResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthUserDelete(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void userGrantRole(AuthUserGrantRoleRequest r, StreamObserver<AuthUserGrantRoleResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthUserGrantRole(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void userRevokeRole(AuthUserRevokeRoleRequest r, StreamObserver<AuthUserRevokeRoleResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthUserRevokeRole(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void roleAdd(AuthRoleAddRequest r, StreamObserver<AuthRoleAddResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthRoleAdd(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void roleGet(AuthRoleGetRequest r, StreamObserver<AuthRoleGetResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthRoleGet(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void roleList(AuthRoleListRequest r, StreamObserver<AuthRoleListResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthRoleList(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void roleDelete(AuthRoleDeleteRequest r, StreamObserver<AuthRoleDeleteResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthRoleDelete(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void roleGrantPermission(AuthRoleGrantPermissionRequest r, StreamObserver<AuthRoleGrantPermissionResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthRoleGrantPermission(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

  @Override
  public void roleRevokePermission(AuthRoleRevokePermissionRequest r, StreamObserver<AuthRoleRevokePermissionResponse> out) {
    propose(InternalRaftRequest.newBuilder().setAuthRoleRevokePermission(r), out, (x, h) -> x.toBuilder().setHeader(h).build());
  }

}
