package io.etcetera.server;

import io.etcetera.mvcc.apply.Applier;
import io.etcetera.mvcc.auth.AuthStore;
import io.etcetera.mvcc.auth.TokenProvider;
import io.etcetera.server.auth.TokenProviders;
import io.etcetera.server.auth.Authenticator;
import io.etcetera.server.auth.CallIdentity;
import io.etcetera.mvcc.alarm.AlarmStore;
import io.etcetera.server.compaction.AutoCompactor;
import io.etcetera.server.grpc.SpaceQuota;
import io.etcetera.server.http.HealthChecks;
import io.etcetera.server.http.HttpEndpoints;
import io.etcetera.server.http.HttpRoutes;
import io.etcetera.server.http.MetricsText;
import io.etcetera.server.grpc.AuthService;
import io.etcetera.mvcc.kv.KeyLeases;
import io.etcetera.mvcc.lease.Lessor;
import io.etcetera.mvcc.lease.Ticker;
import io.etcetera.mvcc.watch.WatchHub;
import io.etcetera.server.grpc.LeaderLossMonitor;
import io.etcetera.server.grpc.LeaseService;
import io.etcetera.server.grpc.WatchService;
import io.etcetera.server.lease.LeaseExpiry;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.RaftGateway;
import io.etcetera.raft.membership.MemberTable;
import io.etcetera.raft.ratis.RatisGateway;
import io.etcetera.server.cluster.RaftSettings;
import io.etcetera.server.lease.LeaseLeaderQueries;
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

  private final Closer closer;
  private final MemberIdentity id;

  private EtceteraServer(Closer closer, MemberIdentity id) {
    this.closer = closer;
    this.id = id;
  }

  /** Stops the gRPC servers, then every component in order (the reverse of how requests flow in). */
  private record Closer(List<Server> servers, List<AutoCloseable> components) {
    /** This closer with {@code c} closed right after the gRPC servers, before everything else. */
    Closer first(AutoCloseable c) {
      List<AutoCloseable> all = new java.util.ArrayList<>();
      all.add(c);
      all.addAll(components);
      return new Closer(servers, List.copyOf(all));
    }

    void close() {
      for (Server grpc : servers) {
        grpc.shutdown();
      }
      for (Server grpc : servers) {
        try {
          if (!grpc.awaitTermination(5, TimeUnit.SECONDS)) {
            grpc.shutdownNow();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          grpc.shutdownNow();
        }
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
    // the Raft log is the durability point (fsync'd before an entry commits); the store is written
    // without fsync, and entries it lost in a machine crash are applied again from the log
    // a data dir of etcd's (left by etcdctl snapshot restore, or by etcd) becomes this member's store
    io.etcetera.server.snapshot.EtcdDataDirImport.importIfEtcd(memberDir, memberDir.resolve("kv"),
        cfg.initialCluster().size());
    Backend backend = Backend.open(memberDir.resolve("kv"), false);
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
    AuthStore auth = new AuthStore();
    auth.recover(backend);
    AlarmStore alarms = new AlarmStore(store);
    TokenProvider tokens = TokenProviders.fromFlag(cfg.authToken(), cfg.authTokenTtlSeconds());
    WatchHub hub = new WatchHub(store);
    store.onCommitted(hub);
    MemberTable members = MemberTable.load(store);
    RatisGateway raft = RatisGateway.start(RaftSettings.from(cfg, id, memberDir.resolve("raft")), store,
        new Applier(store, lessor, auth, tokens, alarms), members, leading -> {
          // only the leader counts lease time; a new leader gives every lease a full TTL
          if (leading) {
            lessor.promote();
          } else {
            lessor.demote();
          }
        }, () -> {
          // etcd: "the member has been permanently removed from the cluster"; it exits
          new Thread(() -> System.exit(0), "removed").start();
        }, () -> {
          // a snapshot from the leader replaced the store: reload what lives in memory
          lessor.reload(backend);
          store.reload();
          auth.recover(backend);
          alarms.recover();
          hub.jumpedTo(store.currentRevision());
        });
    LeaseLeaderQueries leaseQueries = new LeaseLeaderQueries(lessor);
    raft.answerLeaderQueries(leaseQueries);
    HeaderFiller headers = new HeaderFiller(id, raft, store);
    Authenticator authenticator = new Authenticator(auth, tokens, cfg.clientTls().clientCertAuth());
    Proposer proposer = new Proposer(raft, cfg.maxRequestBytes(), id.memberId(), authenticator);
    LeaseExpiry expiry = new LeaseExpiry(lessor, proposer, auth);
    SpaceQuota quota = new SpaceQuota(cfg.quotaBackendBytes(), backend::sizeOnDisk, proposer, id.memberId());
    ExecutorService watchSend = Executors.newFixedThreadPool(2, daemon("watch-send"));
    ExecutorService hashing = Executors.newFixedThreadPool(2, daemon("bcrypt"));
    ExecutorService reads = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), daemon("kv-read"));
    ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor(daemon("watch-progress"));
    long progressMillis = Math.max(100, cfg.watchProgressNotifyInterval().toMillis());
    LeaderLossMonitor leaderLoss = new LeaderLossMonitor(raft, cfg.electionTimeoutMillis());

    io.etcetera.server.snapshot.EtcdDbView etcdDb = new io.etcetera.server.snapshot.EtcdDbView(backend,
        new io.etcetera.server.snapshot.EtcdMembershipBuckets(members::members));
    io.grpc.ServerServiceDefinition kvService =
        new KvService(store, proposer, headers, cfg.maxTxnOps(), authenticator, raft, reads, quota).bindService();
    io.grpc.ServerServiceDefinition watchService =
        new WatchService(hub, store, headers, cfg.maxRequestBytes(), watchSend, authenticator, leaderLoss).bindService();
    List<io.grpc.ServerServiceDefinition> services = List.of(
        kvService,
        watchService,
        new io.etcetera.server.grpc.LockService(kvService, watchService).bindService(),
        new io.etcetera.server.grpc.ElectionService(kvService, watchService).bindService(),
        new LeaseService(lessor, proposer, headers, raft, leaseQueries, leaderLoss, quota).bindService(),
        new AuthService(proposer, headers, authenticator, cfg.bcryptCost(), hashing).bindService(),
        new MaintenanceService(id, raft, backend, headers, authenticator, alarms, proposer, store, etcdDb,
            new io.etcetera.server.snapshot.SnapshotStreamer(etcdDb, memberDir.resolve("snapshot-send"))).bindService(),
        new ClusterService(raft, headers, authenticator).bindService());
    HealthChecks health = new HealthChecks(raft, store,
        () -> alarms.active().stream().map(a -> a.getAlarm().name()).distinct().toList());
    io.etcetera.server.grpc.GrpcCallCounts grpcCalls = new io.etcetera.server.grpc.GrpcCallCounts();
    HttpRoutes httpRoutes = new HttpRoutes(health, new MetricsText(id, raft, store, backend, health, quota.quotaBytes(), grpcCalls));
    ExecutorService httpThreads = Executors.newFixedThreadPool(2, daemon("http-endpoints"));
    List<AutoCloseable> components = List.of(() -> httpThreads.shutdownNow(), expiry, () -> progress.shutdownNow(), leaderLoss, hub, () -> watchSend.shutdownNow(),
        () -> hashing.shutdownNow(), () -> reads.shutdownNow(), raft, store, backend);
    List<Server> servers;
    try {
      servers = ClientListeners.build(cfg, services, new CallIdentity(), new io.etcetera.server.grpc.ClusterGate(raft),
          grpcCalls, httpRoutes, httpThreads);
    } catch (IOException | RuntimeException e) {
      new Closer(List.of(), components).close();
      throw e;
    }
    Closer closer = new Closer(servers, components);
    awaitPublished(raft, closer);
    try {
      for (Server s : servers) {
        s.start();
      }
    } catch (IOException e) {
      closer.close();
      throw new IOException("cannot listen on " + cfg.listenClientUrls() + ": " + e.getMessage(), e);
    }
    HttpEndpoints http;
    try {
      http = HttpEndpoints.start(cfg.listenMetricsUrls(), cfg.clientTls(), httpRoutes, httpThreads);
    } catch (IOException e) {
      closer.close();
      throw new IOException("cannot listen on " + cfg.listenMetricsUrls() + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closer.close();
      throw e;
    }
    closer = closer.first(http);
    if (cfg.autoCompaction().enabled()) {
      // as etcd's compactor: internal, so it compacts with root's rights; only the leader's acts
      AutoCompactor compactor = new AutoCompactor(cfg.autoCompaction(), store::currentRevision,
          () -> raft.leaderId() != 0 && raft.leaderId() == raft.memberId(),
          rev -> proposer.proposeAs(io.etcetera.api.etcdserverpb.InternalRaftRequest.newBuilder()
                  .setCompaction(io.etcetera.api.etcdserverpb.CompactionRequest.newBuilder().setRevision(rev)),
              new io.etcetera.mvcc.auth.AuthInfo("root", auth.revision())),
          raft.requestTimeout(), System.currentTimeMillis());
      closer = closer.first(compactor);
      compactor.start();
    }
    expiry.start();
    progress.scheduleAtFixedRate(hub::progressTick, progressMillis, progressMillis, TimeUnit.MILLISECONDS);
    log.info("serving client requests on {} as member {} of cluster {} (name {}, data dir {})",
        cfg.listenClientUrls(), MemberIdentity.hex(id.memberId()), MemberIdentity.hex(id.clusterId()),
        id.name(), cfg.dataDir());
    return new EtceteraServer(closer, id);
  }

  /**
   * Like etcd, a member serves clients only once it published itself through the log (its name
   * and client URLs are in the replicated member table): that takes a leader and a quorum.
   */
  private static void awaitPublished(RatisGateway raft, Closer closer) throws IOException {
    long waited = 0;
    while (true) {
      try {
        raft.published().get(5, TimeUnit.SECONDS);
        return;
      } catch (java.util.concurrent.TimeoutException e) {
        waited += 5;
        log.warn("not serving clients yet: waited {} s for the cluster to publish this member (no quorum?)", waited);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        closer.close();
        throw new IOException("interrupted while waiting to publish this member", e);
      } catch (java.util.concurrent.ExecutionException e) {
        closer.close();
        throw new IOException("cannot publish this member", e.getCause());
      }
    }
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

  public MemberIdentity identity() {
    return id;
  }

  @Override
  public void close() {
    closer.close();
    log.info("member {} stopped", MemberIdentity.hex(id.memberId()));
  }
}
