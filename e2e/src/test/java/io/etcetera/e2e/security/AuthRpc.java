package io.etcetera.e2e.security;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.util.concurrent.TimeUnit;

/**
 * Raw gRPC calls with an explicit auth token, for what etcdctl cannot show: etcdctl authenticates
 * afresh on every run, so reusing an old token takes a client that keeps it. The token travels as
 * etcd's clients send it, in the {@code token} request header.
 */
final class AuthRpc implements AutoCloseable {

  private static final Metadata.Key<String> TOKEN = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);

  private final ManagedChannel channel;

  /** A plaintext channel to the member's http listener. */
  AuthRpc(String host, int port) {
    this.channel = NettyChannelBuilder.forAddress(host, port).usePlaintext().build();
  }

  /** Authenticate: the simple token, or the failure as {@code "<code>: <description>"}. */
  String authenticate(String user, String password) {
    return AuthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .authenticate(AuthenticateRequest.newBuilder().setName(user).setPassword(password).build()).getToken();
  }

  /** A Put with {@code token}: {@code "OK revision N"} or {@code "<code>: <description>"}. */
  String put(String token, String key, String value) {
    try {
      long rev = KVGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers(token)))
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .put(PutRequest.newBuilder().setKey(bs(key)).setValue(bs(value)).build()).getHeader().getRevision();
      return "OK revision " + rev;
    } catch (StatusRuntimeException e) {
      return describe(e);
    }
  }

  /** A Range of one key with {@code token}: {@code "OK count N"} or {@code "<code>: <description>"}. */
  String get(String token, String key) {
    try {
      long count = KVGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers(token)))
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .range(RangeRequest.newBuilder().setKey(bs(key)).build()).getCount();
      return "OK count " + count;
    } catch (StatusRuntimeException e) {
      return describe(e);
    }
  }

  /**
   * Creates a watch on {@code key} with {@code token} (null: no token header) and returns the first response as {@code
   * "created=.. canceled=.. cancel_reason=.."}, or the stream's failure as {@code "<code>: <description>"}.
   */
  String watch(String token, String key) {
    java.util.concurrent.CompletableFuture<String> first = new java.util.concurrent.CompletableFuture<>();
    io.grpc.stub.StreamObserver<io.etcd.jetcd.api.WatchRequest> requests = io.etcd.jetcd.api.WatchGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers(token)))
        .watch(new io.grpc.stub.StreamObserver<io.etcd.jetcd.api.WatchResponse>() {
          @Override
          public void onNext(io.etcd.jetcd.api.WatchResponse r) {
            first.complete("created=" + r.getCreated() + " canceled=" + r.getCanceled() + " cancel_reason="
                + r.getCancelReason());
          }

          @Override
          public void onError(Throwable t) {
            first.complete(t instanceof StatusRuntimeException e ? describe(e) : t.toString());
          }

          @Override
          public void onCompleted() {
            first.complete("(stream completed)");
          }
        });
    requests.onNext(io.etcd.jetcd.api.WatchRequest.newBuilder().setCreateRequest(
        io.etcd.jetcd.api.WatchCreateRequest.newBuilder().setKey(bs(key))).build());
    try {
      return first.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      return "(no watch response: " + e + ")";
    } finally {
      try {
        requests.onCompleted();
      } catch (RuntimeException ignored) {
        // already closed
      }
    }
  }

  static String describe(StatusRuntimeException e) {
    return e.getStatus().getCode() + ": " + e.getStatus().getDescription();
  }

  /** The request headers: the token, or none at all for {@code null}. */
  private static Metadata headers(String token) {
    Metadata md = new Metadata();
    if (token != null) md.put(TOKEN, token);
    return md;
  }

  private static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
