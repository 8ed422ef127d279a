package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.etcetera.e2e.harness.Workdirs;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Streams opened with {@code hasleader: true} (etcd clients' WithRequireLeader, as kube-apiserver
 * opens its watches) end with "etcdserver: no leader" once their member lost the leader, so that
 * the client moves to a member that has one; streams without it stay open. Pinned against etcd 3.4.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ClusterRequireLeaderTest {

  @Test
  void aWatchRequiringALeaderEndsWithNoLeaderWhenItsMemberLosesTheLeader(TestInfo info) throws Exception {
    try (Cluster c = Cluster.start(Workdirs.of(info), 3, false)) {
      c.etcdctl(1, "put", "rl/k", "v").ok();
      ManagedChannel ch = NettyChannelBuilder.forTarget(c.member(3).host() + ":" + Cluster.CLIENT_PORT).usePlaintext().build();
      try {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER), "true");
        Stream requiring = Stream.open(WatchGrpc.newStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md)));
        Stream plain = Stream.open(WatchGrpc.newStub(ch));
        assertTrue(requiring.responses.poll(30, TimeUnit.SECONDS).getCreated());
        assertTrue(plain.responses.poll(30, TimeUnit.SECONDS).getCreated());

        c.stop(1);
        c.stop(2);

        requiring.assertEndsWithNoLeader();
        assertTrue(!plain.ended.isDone(), "a watch without the metadata stays open");
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Test
  void aKeepAliveStreamRequiringALeaderEndsWithNoLeaderWhenItsMemberLosesTheLeader(TestInfo info) throws Exception {
    try (Cluster c = Cluster.start(Workdirs.of(info), 3, false)) {
      ManagedChannel ch = NettyChannelBuilder.forTarget(c.member(3).host() + ":" + Cluster.CLIENT_PORT).usePlaintext().build();
      try {
        long id = LeaseGrpc.newBlockingStub(ch).leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build()).getID();
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER), "true");
        Recorder<LeaseKeepAliveResponse> stream = new Recorder<>();
        StreamObserver<LeaseKeepAliveRequest> requests = LeaseGrpc.newStub(ch)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
            .leaseKeepAlive(stream);
        requests.onNext(LeaseKeepAliveRequest.newBuilder().setID(id).build());
        assertEquals(60, stream.responses.poll(30, TimeUnit.SECONDS).getTTL());

        c.stop(1);
        c.stop(2);

        stream.assertEndsWithNoLeader();
      } finally {
        ch.shutdownNow();
      }
    }
  }

  /** Records what a stream received and how it ended. */
  private static class Recorder<T> implements StreamObserver<T> {
    final BlockingQueue<T> responses = new LinkedBlockingQueue<>();
    final CompletableFuture<Throwable> ended = new CompletableFuture<>();

    @Override
    public void onNext(T r) {
      responses.add(r);
    }

    @Override
    public void onError(Throwable t) {
      ended.complete(t);
    }

    @Override
    public void onCompleted() {
      ended.complete(new IllegalStateException("completed without an error"));
    }

    /** Within a minute the stream ends with etcd's Unavailable "etcdserver: no leader". */
    void assertEndsWithNoLeader() throws Exception {
      Throwable end = ended.get(60, TimeUnit.SECONDS);
      Status s = Status.fromThrowable(end);
      assertEquals(Status.Code.UNAVAILABLE, s.getCode(), end.toString());
      assertEquals("etcdserver: no leader", s.getDescription());
    }
  }

  /** One watch stream on "rl/": what it received and how it ended. */
  private static final class Stream extends Recorder<WatchResponse> {
    static Stream open(WatchGrpc.WatchStub stub) {
      Stream s = new Stream();
      StreamObserver<WatchRequest> requests = stub.watch(s);
      assertNotNull(requests);
      requests.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
          .setKey(com.google.protobuf.ByteString.copyFromUtf8("rl/"))
          .setRangeEnd(com.google.protobuf.ByteString.copyFromUtf8("rl0"))).build());
      return s;
    }
  }
}
