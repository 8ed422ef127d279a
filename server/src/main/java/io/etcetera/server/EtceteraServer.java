package io.etcetera.server;

import io.etcetera.mvcc.apply.Applier;
import io.etcetera.mvcc.apply.KvApplier;
import io.etcetera.mvcc.apply.LeaseApplier;
import io.etcetera.mvcc.kv.KeyLeases;
import io.etcetera.mvcc.lease.Lessor;
import io.etcetera.mvcc.lease.Ticker;
import io.etcetera.mvcc.watch.WatchHub;
import io.etcetera.server.grpc.LeaseService;
import io.etcetera.server.grpc.WatchService;
import io.etcetera.server.lease.LeaseExpiry;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.RaftGateway;
import io.etcetera.raft.local.SingleMemberLog;
import io.etcetera.server.cluster.IdentityFile;
import io.etcetera.server.cluster.MemberIdentity;
import io.etcetera.server.config.FlagException;
import io.etcetera.server.config.ServerConfig;
import io.etcetera.server.grpc.ClusterService;
import io.etcetera.server.grpc.HeaderFiller;
import io.etcetera.server.grpc.KvService;
import io.etcetera.server.grpc.MaintenanceService;
import io.etcetera.server.grpc.Proposer;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running member: the composition root that opens the data dir, the store and the write path,
 * and serves etcd's gRPC API on every client URL. The only place that wires components together.
 *
 * <p>Threading: started and closed by the main thread; see each component for its own threads.
 */
public final class EtceteraServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EtceteraServer.class);
  /** etcd lets a request exceed --max-request-bytes by this much on the wire, so it can answer with its own error. */
  private static final int GRPC_OVERHEAD_BYTES = 512 * 1024;

  private final Closer closer;
  private final MemberIdentity id;

  private EtceteraServer(Closer closer, MemberIdentity id) {
    this.closer = closer;
    this.id = id;
  }

  /** Stops the gRPC server, then every component in order (the reverse of how requests flow in). */
  private record Closer(Server grpc, List<AutoCloseable> components) {
    void close() {
      grpc.shutdown();
      try {
        if (!grpc.awaitTermination(5, TimeUnit.SECONDS)) {
          grpc.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        grpc.shutdownNow();
      }
      for (AutoCloseable c : components) {
        try {
          c.close();
        } catch (Exception e) {
          log.warn("closing {} failed", c, e);
        }
      }
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  public static EtceteraServer start(ServerConfig cfg) throws IOException {
    Path memberDir = cfg.dataDir().resolve("member");
    createPrivateDir(cfg.dataDir());
    MemberIdentity id = IdentityFile.loadOrCreate(memberDir, cfg);
    Backend backend = Backend.open(memberDir.resolve("kv"), !cfg.unsafeNoFsync());
    MvccStore store = MvccStore.open(backend);
    Lessor lessor = new Lessor(Ticker.SYSTEM, cfg.minLeaseTtlSeconds());
    lessor.recover(backend);
    store.connectLeases(new KeyLeases() {
      @Override
      public void attach(long lease, com.google.protobuf.ByteString key) {
        lessor.attach(lease, key);
      }

      @Override
      public void detach(long lease, com.google.protobuf.ByteString key) {
        lessor.detach(lease, key);
      }
    });
    WatchHub hub = new WatchHub(store);
    store.onCommitted(hub);
    Applier applier = new Applier(new KvApplier(store, lessor::exists), new LeaseApplier(store, lessor));
    RaftGateway raft = new SingleMemberLog(store, applier);
    lessor.promote(); // the single member leads from the start: every lease gets a full TTL
    HeaderFiller headers = new HeaderFiller(id, raft, store);
    Proposer proposer = new Proposer(raft, cfg.maxRequestBytes(), id.memberId());
    LeaseExpiry expiry = new LeaseExpiry(lessor, proposer);
    ExecutorService watchSend = Executors.newFixedThreadPool(2, daemon("watch-send"));
    ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor(daemon("watch-progress"));
    long progressMillis = Math.max(100, cfg.watchProgressNotifyInterval().toMillis());

    List<InetSocketAddress> addresses = cfg.listenClientUrls().stream().map(EtceteraServer::bindAddress).toList();
    NettyServerBuilder b = NettyServerBuilder.forAddress(addresses.get(0));
    for (InetSocketAddress a : addresses.subList(1, addresses.size())) {
      b.addListenAddress(a);
    }
    long streams = Math.min(cfg.maxConcurrentStreams(), Integer.MAX_VALUE);
    b.permitKeepAliveTime(cfg.grpcKeepaliveMinTime().toNanos(), TimeUnit.NANOSECONDS)
        .permitKeepAliveWithoutCalls(true)
        .keepAliveTime(cfg.grpcKeepaliveInterval().toNanos(), TimeUnit.NANOSECONDS)
        .keepAliveTimeout(cfg.grpcKeepaliveTimeout().toNanos(), TimeUnit.NANOSECONDS)
        .maxConcurrentCallsPerConnection((int) streams)
        .maxInboundMessageSize((int) Math.min(Integer.MAX_VALUE, cfg.maxRequestBytes() + GRPC_OVERHEAD_BYTES))
        .addService(new KvService(store, proposer, headers, cfg.maxTxnOps()))
        .addService(new WatchService(hub, store, headers, cfg.maxRequestBytes(), watchSend))
        .addService(new LeaseService(lessor, proposer, headers))
        .addService(new MaintenanceService(id, raft, backend, headers))
        .addService(new ClusterService(id, cfg.localPeerUrls(),
            cfg.advertiseClientUrls().stream().map(URI::toString).toList(), headers));
    // Writes only validate and enqueue a proposal, and watch and keep-alive requests only take
    // short in-memory locks, so they run on the transport thread that read them (no hand-off);
    // everything else may touch the disk and runs on the default executor.
    b.callExecutor(new io.grpc.ServerCallExecutorSupplier() {
      @Override
      public <ReqT, RespT> java.util.concurrent.Executor getExecutor(io.grpc.ServerCall<ReqT, RespT> call,
          io.grpc.Metadata headers) {
        io.grpc.MethodDescriptor<?, ?> m = call.getMethodDescriptor();
        boolean nonBlocking = KvService.isWrite(m)
            || m == io.etcetera.api.etcdserverpb.WatchGrpc.getWatchMethod()
            || m == io.etcetera.api.etcdserverpb.LeaseGrpc.getLeaseKeepAliveMethod();
        return nonBlocking ? Runnable::run : null;
      }
    });
    Server grpc = b.build();
    Closer closer = new Closer(grpc, List.of(expiry, () -> progress.shutdownNow(), hub, () -> watchSend.shutdownNow(),
        raft, store, backend));
    try {
      grpc.start();
    } catch (IOException e) {
      closer.close();
      throw new IOException("cannot listen on " + cfg.listenClientUrls() + ": " + e.getMessage(), e);
    }
    expiry.start();
    progress.scheduleAtFixedRate(hub::progressTick, progressMillis, progressMillis, TimeUnit.MILLISECONDS);
    log.info("serving client requests on {} as member {} of cluster {} (name {}, data dir {})",
        cfg.listenClientUrls(), MemberIdentity.hex(id.memberId()), MemberIdentity.hex(id.clusterId()),
        id.name(), cfg.dataDir());
    return new EtceteraServer(closer, id);
  }

  private static void createPrivateDir(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      Files.createDirectories(dir);
      try {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
    }
  }

  static InetSocketAddress bindAddress(URI u) {
    if (!u.getScheme().equals("http")) {
      throw new FlagException("listen URL " + u + ": " + u.getScheme()
          + " client URLs arrive with the TLS issue; this build serves http:// only");
    }
    if (u.getPort() < 0) {
      throw new FlagException("listen URL " + u + " needs a port");
    }
    String host = u.getHost();
    if (host == null || host.isEmpty() || host.equals("0.0.0.0") || host.equals("[::]") || host.equals("::")) {
      return new InetSocketAddress(u.getPort());
    }
    return new InetSocketAddress(host, u.getPort());
  }

  public MemberIdentity identity() {
    return id;
  }

  @Override
  public void close() {
    closer.close();
    log.info("member {} stopped", MemberIdentity.hex(id.memberId()));
  }
}
