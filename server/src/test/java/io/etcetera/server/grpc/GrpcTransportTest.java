package io.etcetera.server.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.KVGrpc;
import io.etcetera.api.etcdserverpb.MaintenanceGrpc;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.StatusRequest;
import io.etcetera.api.etcdserverpb.StatusResponse;
import io.etcetera.server.EtceteraServer;
import io.etcetera.server.config.EtcdFlags;
import io.etcetera.server.config.ServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gRPC server behaves as etcd's toward real clients: limits, authority, keepalive, unimplemented calls. */
class GrpcTransportTest {
  @TempDir
  Path dir;
  private EtceteraServer server;
  private int port;

  @BeforeEach
  void start() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    String url = "http://127.0.0.1:" + port;
    server = EtceteraServer.start(ServerConfig.from(EtcdFlags.parse(new String[] {
        "--data-dir=" + dir.resolve("d"), "--listen-client-urls=" + url, "--advertise-client-urls=" + url,
        "--max-request-bytes=1024"}, Map.of())));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private ManagedChannel channel(String authority) {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .maxInboundMessageSize(64 << 20);
    if (authority != null) {
      b.overrideAuthority(authority);
    }
    return b.build();
  }

  @Test
  void aRequestOverMaxRequestBytesGetsEtcdsErrorNotATransportError() throws Exception {
    ManagedChannel ch = channel(null);
    try {
      KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
      PutRequest big = PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("k"))
          .setValue(ByteString.copyFrom(new byte[2048])).build();
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> kv.put(big));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
      assertEquals("etcdserver: request is too large", e.getStatus().getDescription());
      // beyond the 512 KiB of slack etcd allows on the wire, the transport refuses it
      PutRequest huge = big.toBuilder().setValue(ByteString.copyFrom(new byte[600 * 1024])).build();
      StatusRuntimeException t = assertThrows(StatusRuntimeException.class, () -> kv.put(huge));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, t.getStatus().getCode());
      // just under the limit passes
      kv.put(big.toBuilder().setValue(ByteString.copyFrom(new byte[900])).build());
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void anyAuthorityIsAcceptedAsEtcdClient350SendsABrokenOne() throws Exception {
    ManagedChannel ch = channel(null);
    try {
      // grpc-java's channel builder refuses such an authority, so set it per call as grpc-go sends it
      StatusResponse s = MaintenanceGrpc.newBlockingStub(ch)
          .withInterceptors(new io.grpc.ClientInterceptor() {
            @Override
            public <Q, R> io.grpc.ClientCall<Q, R> interceptCall(io.grpc.MethodDescriptor<Q, R> m,
                io.grpc.CallOptions o, io.grpc.Channel next) {
              return next.newCall(m, o.withAuthority("#initially=[https://127.0.0.1:2379]"));
            }
          })
          .status(StatusRequest.getDefaultInstance());
      assertTrue(s.getVersion().startsWith("3.5."), s.getVersion());
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void servicesOfLaterIssuesAnswerUnimplemented() throws Exception {
    ManagedChannel ch = channel(null);
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> MaintenanceGrpc.newBlockingStub(ch)
              .downgrade(io.etcetera.api.etcdserverpb.DowngradeRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void keepalivePingsEvery10sWithoutCallsDoNotGetTheConnectionClosed() throws Exception {
    // grpc-java's default server policy answers such pings with GOAWAY too_many_pings; etcd allows them
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .keepAliveTime(10, TimeUnit.SECONDS).keepAliveWithoutCalls(true).build();
    try {
      KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
      kv.range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("health")).build());
      Thread.sleep(32_000); // three pings on an idle connection
      assertEquals(io.grpc.ConnectivityState.READY, ch.getState(false));
      kv.range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("health")).build());
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
