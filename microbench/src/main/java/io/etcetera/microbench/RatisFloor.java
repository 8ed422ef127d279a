package io.etcetera.microbench;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.util.TimeDuration;

/**
 * The floor under any Raft-on-Ratis server on this machine: three Ratis servers (separate JVMs)
 * whose state machine does nothing, plain gRPC peers, and a Ratis client that writes through the
 * leader. What it costs is what Ratis and its transport cost per committed entry before any
 * etcd work (no TLS, no key-value store, optionally no fsync), to set beside etcd's whole put.
 *
 * <pre>
 *   RatisFloor server ID PEERS DIR [nosync]    # PEERS: id=host:port,id=host:port,...
 *   RatisFloor client PEERS TOTAL CLIENTS SIZE # prints req/s, p50, p99
 * </pre>
 * Not a test and not part of the build's checks; scripts/ratis-floor.sh runs it.
 */
public final class RatisFloor {
  private static final RaftGroupId GROUP = RaftGroupId.valueOf(new java.util.UUID(0x6574636574657261L, 1));

  /** Applies nothing: only records the applied index, as any state machine must. */
  static final class NoOpStateMachine extends BaseStateMachine {
    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
      LogEntryProto entry = trx.getLogEntry();
      updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
      return CompletableFuture.completedFuture(Message.EMPTY);
    }
  }

  public static void main(String[] args) throws Exception {
    List<RaftPeer> peers = peers(args[args[0].equals("server") ? 2 : 1]);
    RaftGroup group = RaftGroup.valueOf(GROUP, peers);
    if (args[0].equals("server")) {
      RaftPeerId id = RaftPeerId.valueOf(args[1]);
      RaftPeer self = peers.stream().filter(p -> p.getId().equals(id)).findFirst().orElseThrow();
      RaftProperties p = new RaftProperties();
      RaftServerConfigKeys.Log.setLogMetadataEnabled(p, false);
      GrpcConfigKeys.Server.setHeartbeatChannel(p, false);
      RaftServerConfigKeys.Log.Appender.setWaitTimeMin(p, TimeDuration.ZERO);
      RaftServerConfigKeys.setStorageDir(p, List.of(new File(args[3])));
      String[] hostPort = self.getAddress().split(":");
      GrpcConfigKeys.Server.setHost(p, hostPort[0]);
      GrpcConfigKeys.Server.setPort(p, Integer.parseInt(hostPort[1]));
      RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, args.length > 4 && args[4].equals("nosync"));
      RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(1000, TimeUnit.MILLISECONDS));
      RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(2000, TimeUnit.MILLISECONDS));
      RaftServer server = RaftServer.newBuilder().setServerId(id).setGroup(group)
          .setStateMachine(new NoOpStateMachine()).setProperties(p)
          .setOption(RaftStorage.StartupOption.RECOVER).build();
      server.start();
      Thread.currentThread().join();
      return;
    }
    int total = Integer.parseInt(args[2]);
    int clients = Integer.parseInt(args[3]);
    byte[] payload = new byte[Integer.parseInt(args[4])];
    Arrays.fill(payload, (byte) 'v');
    Message message = Message.valueOf(org.apache.ratis.thirdparty.com.google.protobuf.ByteString.copyFrom(payload));
    RaftProperties p = new RaftProperties();
    List<RaftClient> rc = new ArrayList<>();
    for (int i = 0; i < Math.min(clients, 10); i++) {
      rc.add(RaftClient.newBuilder().setClientId(ClientId.randomId()).setRaftGroup(group).setProperties(p).build());
    }
    rc.get(0).io().send(message); // find the leader
    long[] latencies = new long[total];
    AtomicInteger next = new AtomicInteger();
    long start = System.nanoTime();
    List<CompletableFuture<Void>> loops = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      RaftClient client = rc.get(c % rc.size());
      CompletableFuture<Void> done = new CompletableFuture<>();
      loops.add(done);
      sendNext(client, message, next, total, latencies, done);
    }
    CompletableFuture.allOf(loops.toArray(CompletableFuture[]::new)).get();
    double seconds = (System.nanoTime() - start) / 1e9;
    Arrays.sort(latencies);
    System.out.printf("ratis-floor clients=%d total=%d reqs/s=%.1f p50=%.3fms p99=%.3fms%n", clients, total,
        total / seconds, latencies[total / 2] / 1e6, latencies[(int) (total * 0.99)] / 1e6);
    for (RaftClient c : rc) {
      c.close();
    }
  }

  private static void sendNext(RaftClient client, Message message, AtomicInteger next, int total, long[] latencies,
      CompletableFuture<Void> done) {
    int i = next.getAndIncrement();
    if (i >= total) {
      done.complete(null);
      return;
    }
    long t0 = System.nanoTime();
    client.async().send(message).whenComplete((reply, e) -> {
      if (e != null || !reply.isSuccess()) {
        done.completeExceptionally(e != null ? e : reply.getException());
        return;
      }
      latencies[i] = System.nanoTime() - t0;
      sendNext(client, message, next, total, latencies, done);
    });
  }

  private static List<RaftPeer> peers(String spec) {
    List<RaftPeer> peers = new ArrayList<>();
    for (String part : spec.split(",")) {
      String[] kv = part.split("=", 2);
      peers.add(RaftPeer.newBuilder().setId(kv[0]).setAddress(kv[1]).build());
    }
    return peers;
  }

  private RatisFloor() {}
}
