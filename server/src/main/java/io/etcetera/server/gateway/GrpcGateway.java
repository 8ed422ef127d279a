package io.etcetera.server.gateway;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.etcetera.server.grpc.LocalCalls;
import io.etcetera.server.http.HttpRoutes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * etcd's gRPC gateway: the v3 API as JSON over HTTP ({@code curl -X POST http://127.0.0.1:2379/v3/kv/put
 * -d '{"key":"Zm9v","value":"YmFy"}'}), on the plain client URLs, as etcd serves it by default. A
 * request body is the method's request message in protobuf's JSON form; the answer is the response
 * message as etcd's gateway writes it (proto field names, 64-bit integers as strings, bytes in
 * base64, default values left out) or etcd's error object {@code {"error","message","code"}} with
 * grpc-gateway's HTTP status for the gRPC code. The call goes through the same service definitions
 * and interceptors as a gRPC call (identity from the {@code Authorization} header, the cluster
 * gate), so answers, errors and permissions are the gRPC API's. {@code /v3beta/} and {@code /v3alpha/}
 * paths are served as {@code /v3/}, as etcd 3.4 does. Streaming methods (watch, lease keep-alive,
 * snapshot) answer with a chunked body of newline-separated {@code {"result":...}} objects
 * ({@link #stream}).
 *
 * <p>Threading: {@link #answer} runs on the caller's thread (an HTTP worker) and waits for the
 * service's answer, at most {@code timeout}.
 */
public final class GrpcGateway {
  /** etcd's gateway routes: path to gRPC full method name (rpc.proto, v3lock.proto, v3election.proto). */
  private static final Map<String, String> ROUTES = new LinkedHashMap<>();

  static {
    route("/v3/kv/range", "etcdserverpb.KV/Range");
    route("/v3/kv/put", "etcdserverpb.KV/Put");
    route("/v3/kv/deleterange", "etcdserverpb.KV/DeleteRange");
    route("/v3/kv/txn", "etcdserverpb.KV/Txn");
    route("/v3/kv/compaction", "etcdserverpb.KV/Compact");
    route("/v3/watch", "etcdserverpb.Watch/Watch");
    route("/v3/lease/grant", "etcdserverpb.Lease/LeaseGrant");
    route("/v3/lease/revoke", "etcdserverpb.Lease/LeaseRevoke");
    route("/v3/kv/lease/revoke", "etcdserverpb.Lease/LeaseRevoke");
    route("/v3/lease/keepalive", "etcdserverpb.Lease/LeaseKeepAlive");
    route("/v3/lease/timetolive", "etcdserverpb.Lease/LeaseTimeToLive");
    route("/v3/kv/lease/timetolive", "etcdserverpb.Lease/LeaseTimeToLive");
    route("/v3/lease/leases", "etcdserverpb.Lease/LeaseLeases");
    route("/v3/kv/lease/leases", "etcdserverpb.Lease/LeaseLeases");
    route("/v3/cluster/member/add", "etcdserverpb.Cluster/MemberAdd");
    route("/v3/cluster/member/remove", "etcdserverpb.Cluster/MemberRemove");
    route("/v3/cluster/member/update", "etcdserverpb.Cluster/MemberUpdate");
    route("/v3/cluster/member/list", "etcdserverpb.Cluster/MemberList");
    route("/v3/cluster/member/promote", "etcdserverpb.Cluster/MemberPromote");
    route("/v3/maintenance/alarm", "etcdserverpb.Maintenance/Alarm");
    route("/v3/maintenance/status", "etcdserverpb.Maintenance/Status");
    route("/v3/maintenance/defragment", "etcdserverpb.Maintenance/Defragment");
    route("/v3/maintenance/hash", "etcdserverpb.Maintenance/Hash");
    route("/v3/maintenance/snapshot", "etcdserverpb.Maintenance/Snapshot");
    route("/v3/maintenance/transfer-leadership", "etcdserverpb.Maintenance/MoveLeader");
    route("/v3/auth/enable", "etcdserverpb.Auth/AuthEnable");
    route("/v3/auth/disable", "etcdserverpb.Auth/AuthDisable");
    route("/v3/auth/authenticate", "etcdserverpb.Auth/Authenticate");
    route("/v3/auth/user/add", "etcdserverpb.Auth/UserAdd");
    route("/v3/auth/user/get", "etcdserverpb.Auth/UserGet");
    route("/v3/auth/user/list", "etcdserverpb.Auth/UserList");
    route("/v3/auth/user/delete", "etcdserverpb.Auth/UserDelete");
    route("/v3/auth/user/changepw", "etcdserverpb.Auth/UserChangePassword");
    route("/v3/auth/user/grant", "etcdserverpb.Auth/UserGrantRole");
    route("/v3/auth/user/revoke", "etcdserverpb.Auth/UserRevokeRole");
    route("/v3/auth/role/add", "etcdserverpb.Auth/RoleAdd");
    route("/v3/auth/role/get", "etcdserverpb.Auth/RoleGet");
    route("/v3/auth/role/list", "etcdserverpb.Auth/RoleList");
    route("/v3/auth/role/delete", "etcdserverpb.Auth/RoleDelete");
    route("/v3/auth/role/grant", "etcdserverpb.Auth/RoleGrantPermission");
    route("/v3/auth/role/revoke", "etcdserverpb.Auth/RoleRevokePermission");
    route("/v3/lock/lock", "v3lockpb.Lock/Lock");
    route("/v3/lock/unlock", "v3lockpb.Lock/Unlock");
    route("/v3/election/campaign", "v3electionpb.Election/Campaign");
    route("/v3/election/proclaim", "v3electionpb.Election/Proclaim");
    route("/v3/election/leader", "v3electionpb.Election/Leader");
    route("/v3/election/observe", "v3electionpb.Election/Observe");
    route("/v3/election/resign", "v3electionpb.Election/Resign");
  }

  private static void route(String path, String method) {
    ROUTES.put(path, method);
  }

  /** etcd's gateway answers carry these (its --cors default "*"). */
  private static final Map<String, String> CORS = Map.of(
      "Access-Control-Allow-Origin", "*",
      "Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE",
      "Access-Control-Allow-Headers", "accept, content-type, authorization");
  private static final String JSON = "application/json";

  private final Map<String, ServerMethodDefinition<?, ?>> methods = new HashMap<>();
  private final long timeoutMillis;
  private final JsonFormat.Printer printer = JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();
  private final JsonFormat.Parser parser = JsonFormat.parser().ignoringUnknownFields();

  /**
   * @param services the client API's services
   * @param interceptors the client listeners' interceptors, first added first (the last runs first)
   * @param timeoutMillis how long an answer is waited for
   */
  public GrpcGateway(List<ServerServiceDefinition> services, List<ServerInterceptor> interceptors, long timeoutMillis) {
    this.timeoutMillis = timeoutMillis;
    for (ServerServiceDefinition s : services) {
      ServerServiceDefinition intercepted = ServerInterceptors.intercept(s, interceptors);
      for (ServerMethodDefinition<?, ?> m : intercepted.getMethods()) {
        methods.put(m.getMethodDescriptor().getFullMethodName(), m);
      }
    }
  }

  /** Whether {@code path} is the gateway's. */
  public static boolean isGatewayPath(String path) {
    return path.startsWith("/v3/") || path.startsWith("/v3beta/") || path.startsWith("/v3alpha/");
  }

  /**
   * Where a streaming answer goes: an HTTP/1 response with chunked body, one JSON object per
   * message. Implemented by the transport; its methods may be called from any thread.
   */
  public interface StreamSink {
    /** Sends the status line and headers (200, JSON, chunked). */
    void start(Map<String, String> headers);

    /** Sends one chunk and flushes it. */
    void chunk(String text);

    /** Ends the body and the connection. */
    void end();

    /** Whether the connection takes more without buffering. */
    boolean isWritable();

    /** Runs {@code r} when the connection can take more again. */
    void onWritable(Runnable r);

    /** Runs {@code r} once the client has gone (connection closed). */
    void onGone(Runnable r);
  }

  /** Whether {@code path} is a streaming method of the gateway (watch, lease keep-alive...). */
  public boolean isStreaming(String path) {
    ServerMethodDefinition<?, ?> m = method(path);
    return m != null && m.getMethodDescriptor().getType() != MethodDescriptor.MethodType.UNARY;
  }

  private ServerMethodDefinition<?, ?> method(String path) {
    String full = ROUTES.get(path.replaceFirst("^/v3(beta|alpha)/", "/v3/"));
    return full == null ? null : methods.get(full);
  }

  /**
   * Serves a streaming method as etcd's gateway does: the body holds the request messages (JSON
   * objects one after the other), their end half-closes the call; every response message goes out
   * as {@code {"result":...}} and a newline, an error as {@code {"error":{...}}}; the answer ends
   * when the call does, and the call is cancelled when the client goes.
   */
  public void stream(String path, String authorization, byte[] body, StreamSink sink) {
    ServerMethodDefinition<?, ?> method = method(path);
    streamCall(method, authorization, body, sink);
  }

  private <Q, A> void streamCall(ServerMethodDefinition<Q, A> method, String authorization, byte[] body, StreamSink sink) {
    MethodDescriptor<Q, A> d = method.getMethodDescriptor();
    List<Q> requests = new java.util.ArrayList<>();
    try {
      for (String object : JsonObjects.split(new String(body, StandardCharsets.UTF_8))) {
        Message.Builder b = ((Message) ((MethodDescriptor.PrototypeMarshaller<Q>) d.getRequestMarshaller())
            .getMessagePrototype()).newBuilderForType();
        parser.merge(object, b);
        @SuppressWarnings("unchecked")
        Q q = (Q) b.build();
        requests.add(q);
      }
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      sink.start(CORS);
      sink.chunk(streamError(Status.INVALID_ARGUMENT.withDescription(String.valueOf(e.getMessage()))));
      sink.end();
      return;
    }
    Metadata headers = new Metadata();
    if (authorization != null && !authorization.isEmpty()) {
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), authorization);
    }
    sink.start(CORS);
    CompletableFuture<LocalCalls.Outcome<A>> ended = new CompletableFuture<>();
    LocalCalls.Stream<Q> call = LocalCalls.stream(method, headers, message -> {
      try {
        sink.chunk("{\"result\":" + printer.print((Message) message) + "}\n");
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException(e);
      }
    }, ended, sink::isWritable);
    ended.thenAccept(o -> {
      if (!o.status().isOk()) {
        sink.chunk(streamError(o.status()));
      }
      sink.end();
    });
    sink.onGone(call::cancel);
    sink.onWritable(call::ready);
    for (Q q : requests) {
      call.send(q);
    }
    call.halfClose();
  }

  /** grpc-gateway v1's in-stream error object. */
  static String streamError(Status s) {
    int http = httpStatus(s.getCode());
    String message = s.getDescription() == null ? "" : s.getDescription();
    return "{\"error\":{\"grpc_code\":" + s.getCode().value() + ",\"http_code\":" + http + ",\"message\":"
        + io.etcetera.server.json.GoJson.quote(message) + ",\"http_status\":"
        + io.etcetera.server.json.GoJson.quote(HttpStatusText.of(http)) + "}}\n";
  }

  /** Answers one HTTP request for a unary gateway path (or 404/405). */
  public HttpRoutes.Reply answer(String httpMethod, String path, String authorization, byte[] body) {
    ServerMethodDefinition<?, ?> method = method(path);
    if (method == null) {
      return new HttpRoutes.Reply(404, "text/plain; charset=utf-8", "Not Found\n", CORS);
    }
    if (!httpMethod.equals("POST")) {
      return new HttpRoutes.Reply(405, "text/plain; charset=utf-8", "Method Not Allowed\n", CORS);
    }
    return call(method, authorization, body);
  }

  private <Q, A> HttpRoutes.Reply call(ServerMethodDefinition<Q, A> method, String authorization, byte[] body) {
    MethodDescriptor<Q, A> d = method.getMethodDescriptor();
    @SuppressWarnings("unchecked")
    Q request;
    try {
      Message.Builder b = ((Message) ((MethodDescriptor.PrototypeMarshaller<Q>) d.getRequestMarshaller())
          .getMessagePrototype()).newBuilderForType();
      String text = new String(body, StandardCharsets.UTF_8);
      if (!text.isBlank()) {
        parser.merge(text, b);
      }
      @SuppressWarnings("unchecked")
      Q parsed = (Q) b.build();
      request = parsed;
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      return error(Status.INVALID_ARGUMENT.withDescription(String.valueOf(e.getMessage())));
    }
    Metadata headers = new Metadata();
    if (authorization != null && !authorization.isEmpty()) {
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), authorization);
    }
    try {
      LocalCalls.Outcome<A> out = LocalCalls.unary(method, headers, request).get(timeoutMillis, TimeUnit.MILLISECONDS);
      if (!out.status().isOk()) {
        return error(out.status());
      }
      return new HttpRoutes.Reply(200, JSON, printer.print((Message) out.response()), CORS);
    } catch (TimeoutException e) {
      return error(Status.DEADLINE_EXCEEDED.withDescription("context deadline exceeded"));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return error(Status.CANCELLED.withDescription("context canceled"));
    } catch (ExecutionException | InvalidProtocolBufferException e) {
      return error(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())));
    }
  }

  /** etcd's gateway error: {"error","message","code"} with grpc-gateway's HTTP status for the code. */
  static HttpRoutes.Reply error(Status s) {
    String message = s.getDescription() == null ? "" : s.getDescription();
    String body = "{\"error\":" + io.etcetera.server.json.GoJson.quote(message) + ",\"message\":"
        + io.etcetera.server.json.GoJson.quote(message) + ",\"code\":" + s.getCode().value() + "}";
    return new HttpRoutes.Reply(httpStatus(s.getCode()), JSON, body, CORS);
  }

  /** grpc-gateway v1's HTTPStatusFromCode, which etcd 3.4 uses. */
  static int httpStatus(Status.Code c) {
    return switch (c) {
      case OK -> 200;
      case CANCELLED -> 408;
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> 400;
      case DEADLINE_EXCEEDED -> 504;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS, ABORTED -> 409;
      case PERMISSION_DENIED -> 403;
      case UNAUTHENTICATED -> 401;
      case RESOURCE_EXHAUSTED -> 429;
      case UNIMPLEMENTED -> 501;
      case UNAVAILABLE -> 503;
      default -> 500; // Unknown, Internal, DataLoss
    };
  }
}
