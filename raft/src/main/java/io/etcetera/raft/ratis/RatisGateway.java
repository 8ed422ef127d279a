package io.etcetera.raft.ratis;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.api.etcdserverpb.RequestHeader;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.mvcc.apply.Applier;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.RaftGateway;
import io.etcetera.raft.membership.MemberTable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link RaftGateway} on Apache Ratis: one Raft group whose peers are the etcd members (peer ID
 * = member ID in hex, address = the first peer URL), the {@link EtcdStateMachine} applying entries,
 * proposals submitted in-process when this member leads and forwarded to the leader by a Ratis
 * client otherwise, linearizable reads by ReadIndex ({@code read.option=LINEARIZABLE}) batched by a
 * {@link ReadBarrier}, and the {@link MembershipDuties} keeping the member table and Ratis'
 * configuration in step.
 *
 * <p>Threading: callers on any thread; Ratis' own threads run the protocol and the apply thread;
 * "raft-events" runs leadership changes (lease promotion), "raft-duties" the periodic membership
 * work and timeouts. Proposal futures complete on the apply thread, or on those for failures.
 */
public final class RatisGateway implements RaftGateway {
  private static final Logger log = LoggerFactory.getLogger(RatisGateway.class);
  private static final byte QUERY_APP = 1;
  private static final byte QUERY_PROMOTE = 2;
  /** May a member be added? Answered by the leader (etcd's strict reconfiguration check). */
  private static final byte QUERY_ADD = 3;
  /** A follower's proposals (a {@link ProposalBatcher} fragment) for the leader's next entry. */
  private static final byte QUERY_PROPOSE = 4;
  private static final byte ANSWER_OK = 0;
  private static final byte ANSWER_ERROR = 1;
  /** The member asked is not the leader and proposed nothing: ask the leader again. */
  private static final byte ANSWER_NOT_PROPOSED = 2;
  /**
   * Entries in flight per member (see {@link ProposalBatcher}). One gave the most writes per second
   * on 2 cores (100 clients: 1 → 3.5-3.8k/s, 2 → 3.2-3.3k/s, 4 → 2.4k/s): fewer, bigger entries
   * cost less CPU per write.
   */
  private static final int MAX_ENTRIES_IN_FLIGHT = 1;

  private final RatisSettings settings;
  private final MemberTable table;
  private final PendingProposals pending = new PendingProposals();
  private final CommitHeartbeats heartbeats = new CommitHeartbeats();
  private final ReadBarrier reads;
  private final RaftPeerId self;
  private final RaftGroupId groupId;
  private final ClientId localClient = ClientId.randomId();
  private final AtomicLong callIds = new AtomicLong();
  /** Leader changes seen (Ratis' notification thread writes, metrics read). */
  private final AtomicLong leaderChanges = new AtomicLong();
  private final java.util.concurrent.atomic.AtomicReference<RaftPeerId> lastLeaderSeen = new java.util.concurrent.atomic.AtomicReference<>();
  private final AtomicLong internalIds;
  private final ExecutorService events;
  private final ScheduledExecutorService duties;
  /** Continues work begun by Ratis callbacks, which must not call back into Ratis themselves. */
  private final ExecutorService callbacks;
  /** This member's proposals when it leads, and the fragments followers sent it, into log entries. */
  private final ProposalBatcher leaderEntries;
  /** This member's proposals while another member leads, to that leader's next entry. */
  private final ProposalBatcher forwardedEntries;
  private final Consumer<Boolean> leadership;
  private volatile LeaderQueries leaderQueries = request ->
      CompletableFuture.failedFuture(EtcdError.NOT_LEADER.exception());
  private final RaftServer server;
  private final RaftServer.Division division;
  private final RaftClient client;
  private final Forwarder forwarder;
  private final MembershipDuties membership;
  private volatile boolean closed;

  /**
   * Starts this member's Ratis server: it replays its log (skipping what the store already holds)
   * and takes part in elections. {@code leadership} hears {@code true} when this member starts
   * leading and {@code false} when it stops, on the "raft-events" thread; {@code removed} runs
   * once this member was removed from the cluster; {@code reloaded} reloads the in-memory state
   * (leases, auth, watchers) on the apply thread after a snapshot from the leader replaced the store.
   */
  public static RatisGateway start(RatisSettings settings, MvccStore store, Applier applier, MemberTable table,
      Consumer<Boolean> leadership, Runnable removed, Runnable reloaded) throws IOException {
    return new RatisGateway(settings, store, applier, table, leadership, removed, reloaded);
  }

  private RatisGateway(RatisSettings settings, MvccStore store, Applier applier, MemberTable table,
      Consumer<Boolean> leadership, Runnable removed, Runnable reloaded) throws IOException {
    this.settings = settings;
    this.table = table;
    this.leadership = leadership;
    this.self = RaftPeers.peerId(settings.memberId());
    this.groupId = RaftGroupId.valueOf(UUID.nameUUIDFromBytes(settings.groupKey().getBytes(StandardCharsets.UTF_8)));
    this.internalIds = new AtomicLong(((settings.memberId() & 0xffff) << 48)
        | ((System.currentTimeMillis() & 0xffff_ffffffL) << 8) | 0x80);
    this.events = Executors.newSingleThreadExecutor(daemon("raft-events"));
    // timeouts are cancelled once their request completes and removed from the queue at once, so
    // the duty thread wakes only for the ones that expire (one timeout per proposal and read round)
    java.util.concurrent.ScheduledThreadPoolExecutor dutyThread =
        new java.util.concurrent.ScheduledThreadPoolExecutor(1, daemon("raft-duties"));
    dutyThread.setRemoveOnCancelPolicy(true);
    this.duties = dutyThread;
    this.callbacks = Executors.newSingleThreadExecutor(daemon("raft-callbacks"));
    this.leaderEntries = new ProposalBatcher("raft-submit", MAX_ENTRIES_IN_FLIGHT, this::submitEntry);
    this.forwardedEntries = new ProposalBatcher("raft-submit-forward", MAX_ENTRIES_IN_FLIGHT, this::forwardEntry);
    this.reads = new ReadBarrier(this::readRound);

    RaftProperties props = properties(settings);
    Parameters params = new Parameters();
    params.put(CommitHeartbeats.PARAMETER, heartbeats, CommitHeartbeats.class);
    if (settings.tls()) {
      GrpcTlsConfig tls = new GrpcTlsConfig(settings.peerKeys(), settings.peerTrust(), true);
      GrpcConfigKeys.TLS.setConf(params, tls);
    }
    // where the peers are: the initial cluster, then the replicated table where it says otherwise
    for (Member m : settings.initialMembers()) {
      RaftPeers.recordAddress(m);
    }
    for (Member m : table.members()) {
      RaftPeers.recordAddress(m);
    }
    List<RaftPeer> initial = settings.initialMembers().stream().map(RaftPeers::peer).toList();
    RaftGroup group = settings.newCluster() ? RaftGroup.valueOf(groupId, initial) : RaftGroup.valueOf(groupId);
    boolean forced = ForcedNewCluster.applies(settings, table);
    if (forced) {
      ForcedNewCluster.prepare(settings, store, table, settings.storageDir().resolve(groupId.getUuid().toString()));
      group = RaftGroup.valueOf(groupId, RaftPeers.peer(table.member(settings.memberId())));
    }
    EtcdStateMachine sm = new EtcdStateMachine(store, applier, table, new StateMachineEvents(), reloaded, forced);
    this.server = RaftServer.newBuilder()
        .setServerId(self)
        .setGroup(group)
        .setStateMachine(sm)
        .setProperties(props)
        .setParameters(params)
        .setOption(RaftStorage.StartupOption.RECOVER)
        .build();
    server.start();
    this.division = server.getDivision(groupId);
    // the client finds the leader among the members this member knows: the replicated table once
    // it has one (a restart may come without --initial-cluster), else the initial cluster
    List<RaftPeer> known = table.isEmpty() ? initial : table.members().stream().map(RaftPeers::peer).toList();
    java.util.function.Supplier<RaftClient> clients = () -> RaftClient.newBuilder()
        .setClientId(ClientId.randomId())
        .setRaftGroup(RaftGroup.valueOf(groupId, known))
        .setProperties(props)
        .setParameters(params)
        .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(
            (int) Math.max(5, settings.requestTimeout().toMillis() / 250), TimeDuration.valueOf(200, TimeUnit.MILLISECONDS)))
        .build();
    this.client = clients.get(); // membership changes (admin calls), entries resent to a new leader
    // proposals are forwarded once: a retried forward could be proposed twice
    RaftClient once = RaftClient.newBuilder()
        .setClientId(ClientId.randomId())
        .setRaftGroup(RaftGroup.valueOf(groupId, known))
        .setProperties(props)
        .setParameters(params)
        .setRetryPolicy(RetryPolicies.noRetry())
        .build();
    this.forwarder = new Forwarder(clients.get(), once);
    this.membership = new MembershipDuties(settings, table, this, division, client, removed, heartbeats::followers);
    duties.scheduleWithFixedDelay(this::dutyTick, 200, 500, TimeUnit.MILLISECONDS);
    log.info("raft member {} started in group {} ({} peers)", self, groupId, division.getGroup().getPeers().size());
  }

  private static RaftProperties properties(RatisSettings s) {
    RaftProperties p = new RaftProperties();
    // Ratis' gRPC transport whose log appenders send a heartbeat that tells followers a new commit
    // index, instead of a metadata entry per commit (see CommitCarryingLogAppender)
    org.apache.ratis.RaftConfigKeys.Rpc.setType(p, new TrackingGrpcFactory.Type());
    RaftServerConfigKeys.Log.setLogMetadataEnabled(p, false);
    // heartbeats on the appends' own stream, so that one never overtakes the entry it commits
    GrpcConfigKeys.Server.setHeartbeatChannel(p, false);
    RaftServerConfigKeys.setStorageDir(p, List.of(s.storageDir().toFile()));
    GrpcConfigKeys.Server.setHost(p, s.listenHost());
    GrpcConfigKeys.Server.setPort(p, s.listenPort());
    long election = Math.max(50, s.electionMillis());
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(election, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(2 * election, TimeUnit.MILLISECONDS));
    // a fresh or restarted member campaigns sooner, as etcd's initial election tick advance
    long first = Math.max(20, s.heartbeatMillis());
    RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, TimeDuration.valueOf(first, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, TimeDuration.valueOf(3 * first, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    RaftServerConfigKeys.Read.setTimeout(p, TimeDuration.valueOf(s.requestTimeout().toMillis(), TimeUnit.MILLISECONDS));
    // etcd's --snapshot-count: a RocksDB checkpoint every that many entries, after which the log
    // is purged up to it, keeping (as etcd's SnapshotCatchUpEntries) a tail for slow followers;
    // a follower behind the purged log installs the snapshot
    long count = Math.max(1, s.snapshotCount());
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, count);
    RaftServerConfigKeys.Snapshot.setCreationGap(p, count);
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
    RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(1024, count));
    RaftServerConfigKeys.Log.setPurgePreservationLogNum(p, Math.min(5000, count));
    // only closed segments are purged: smaller ones than Ratis' 32 MB let snapshots free the log sooner
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, org.apache.ratis.util.SizeInBytes.valueOf("4MB"));
    // send entries as soon as they are appended (the default waits up to 10 ms to batch them)
    RaftServerConfigKeys.Log.Appender.setWaitTimeMin(p, TimeDuration.ZERO);
    RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, !s.syncLog());
    org.apache.ratis.client.RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(3, TimeUnit.SECONDS));
    return p;
  }

  // --- writes ---

  /** A proposal of this member until it is applied, refused or timed out. */
  private record Proposal(long id, byte[] fragment, boolean alone, long deadline) {}

  /** A proposal that certainly was not appended to the log (safe to propose again). */
  private static final class NotProposed extends RuntimeException {
    NotProposed() {
      super("not proposed", null, false, false);
    }
  }

  /**
   * Proposes {@code request}: this member's {@link ProposalBatcher}s pack it with others proposed
   * at the same time into one log entry, on the leader directly, else through the leader. The
   * result comes from this member's own apply of the entry, so a client reading this member next
   * sees its write (as etcd's follower, which answers once it applied the entry).
   */
  @Override
  public CompletableFuture<Applied> propose(InternalRaftRequest request) {
    if (closed) {
      return CompletableFuture.failedFuture(EtcdError.STOPPED.exception());
    }
    long id = request.getHeader().getID();
    CompletableFuture<Applied> result = pending.register(id);
    byte[] fragment = InternalRaftRequest.newBuilder().addBatch(request.toByteString()).build().toByteArray();
    long timeout = settings.requestTimeout().toNanos();
    route(new Proposal(id, fragment, MemberTable.isMembershipEntry(request), System.nanoTime() + timeout));
    // etcd's request timeout: without a leader raft never took the proposal and etcd answers its
    // context's "context deadline exceeded"; with one, "request timed out"
    java.util.concurrent.ScheduledFuture<?> timer = duties.schedule(() -> pending.fail(id,
        (leaderId() == 0 ? EtcdError.PROPOSAL_DEADLINE_NO_LEADER : EtcdError.TIMEOUT).exception()), timeout, TimeUnit.NANOSECONDS);
    result.whenComplete((a, e) -> timer.cancel(false));
    return result;
  }

  private void route(Proposal p) {
    if (closed) {
      pending.fail(p.id, EtcdError.STOPPED.exception());
      return;
    }
    RaftPeerId leader = division.getInfo().getLeaderId();
    if (self.equals(leader)) {
      leaderEntries.add(p.fragment, p.alone, e -> settled(p, e));
    } else if (leader != null) {
      forwardedEntries.add(p.fragment, p.alone, e -> settled(p, e));
    } else {
      retryLater(p);
    }
  }

  /** How a proposal's entry ended (null: applied on the leader; this member's apply answers). */
  private void settled(Proposal p, Throwable e) {
    if (e == null) {
      return;
    }
    Throwable cause = unwrap(e);
    if (cause instanceof NotProposed) {
      retryLater(p);
    } else if (cause instanceof EtcdException ee) {
      pending.fail(p.id, ee);
    } else {
      // unknown: the leader may have appended it; this member's apply or the timeout answers
      log.debug("proposal {} has an unknown outcome", p.id, cause);
    }
  }

  private void retryLater(Proposal p) {
    if (!pending.isWaiting(p.id) || System.nanoTime() > p.deadline) {
      return;
    }
    try {
      duties.schedule(() -> route(p), 50, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException x) {
      pending.fail(p.id, EtcdError.STOPPED.exception());
    }
  }

  /**
   * Appends one entry (from the batcher's thread, or a proposing caller's when nothing waits).
   * Should this member lose the leadership before the entry committed, it is sent again to the new
   * leader with the same client and call ID, so Ratis' retry cache answers it instead of appending
   * it twice if it did commit.
   */
  private CompletableFuture<Void> submitEntry(byte[] entry, boolean alone) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    Message msg = Message.valueOf(UnsafeByteOperations.unsafeWrap(entry));
    attemptEntry(msg, callIds.incrementAndGet(), done, System.nanoTime() + settings.requestTimeout().toNanos(), true);
    return done;
  }

  private void attemptEntry(Message msg, long callId, CompletableFuture<Void> done, long deadline, boolean first) {
    RaftPeerId leader = division.getInfo().getLeaderId();
    CompletableFuture<RaftClientReply> sent;
    if (first && !self.equals(leader)) {
      done.completeExceptionally(new NotProposed()); // never sent: its proposals route elsewhere
      return;
    }
    if (leader == null) {
      sent = CompletableFuture.failedFuture(new NotProposed());
    } else {
      RaftClientRequest req = RaftClientRequest.newBuilder()
          .setClientId(localClient)
          .setServerId(leader)
          .setGroupId(groupId)
          .setCallId(callId)
          .setMessage(msg)
          .setType(RaftClientRequest.writeRequestType())
          .build();
      try {
        if (self.equals(leader)) {
          sent = server.submitClientRequestAsync(req);
        } else {
          client.getClientRpc().addRaftPeers(division.getRaftConf().getAllPeers());
          sent = client.getClientRpc().sendRequestAsyncUnordered(req);
          RaftPeerId to = leader;
          sent.whenComplete((reply, e) -> {
            if (e != null) {
              forwarder.reconnect(client, to, e); // the next resend opens a new stream
            }
          });
        }
      } catch (IOException | RuntimeException e) {
        sent = CompletableFuture.failedFuture(e);
      }
    }
    // completed on Ratis threads: a success only frees the entry slot (the batcher's thread sends
    // the next entry); anything else continues on our thread, as a resend calls into Ratis
    sent.whenComplete((reply, e) -> {
      if (e == null && reply.isSuccess()) {
        done.complete(null);
        return;
      }
      try {
        callbacks.execute(() -> afterFailedEntry(msg, callId, done, deadline, reply, e));
      } catch (java.util.concurrent.RejectedExecutionException x) {
        done.completeExceptionally(EtcdError.STOPPED.exception());
      }
    });
  }

  private void afterFailedEntry(Message msg, long callId, CompletableFuture<Void> done, long deadline,
      RaftClientReply reply, Throwable e) {
    boolean again = e != null || reply.getNotLeaderException() != null || reply.getLeaderNotReadyException() != null
        || reply.getLeaderSteppingDownException() != null || reply.getTransferLeadershipException() != null;
    // not-leader replies are ambiguous (refused at once, or failed by a step-down after the
    // append): only a resend under the same call ID is safe either way. A leader transferring its
    // leadership refuses writes before appending them: they wait for the transfer's end (etcd's
    // raft drops them meanwhile) within the request timeout.
    if (again && !closed && System.nanoTime() + 50_000_000L < deadline) {
      try {
        duties.schedule(() -> attemptEntry(msg, callId, done, deadline, false), 50, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException x) {
        done.completeExceptionally(EtcdError.STOPPED.exception());
      }
    } else {
      done.completeExceptionally(toEtcd(e != null ? e : reply.getException()));
    }
  }

  /**
   * Sends one fragment of this member's proposals to the leader, which packs it into its next
   * entry (so that proposals from all members share entries). Sent once: the leader answers when
   * its entry was applied, or that it proposed nothing (it was not leading), and only then, or when
   * the request never left this member (the connection could not be opened, or Ratis refused it
   * before sending), is a proposal sent again; any other failure leaves its outcome to this
   * member's apply or the request timeout.
   */
  private CompletableFuture<Void> forwardEntry(byte[] fragment, boolean alone) {
    RaftPeerId leader = division.getInfo().getLeaderId();
    if (leader == null || self.equals(leader)) {
      return CompletableFuture.failedFuture(new NotProposed());
    }
    // [QUERY_PROPOSE, alone, fragment]: a membership entry must stay alone in the leader's entries
    byte[] framed = new byte[fragment.length + 2];
    framed[0] = QUERY_PROPOSE;
    framed[1] = (byte) (alone ? 1 : 0);
    System.arraycopy(fragment, 0, framed, 2, fragment.length);
    return forwarder.propose(Message.valueOf(UnsafeByteOperations.unsafeWrap(framed)), leader, groupId,
        division.getRaftConf().getAllPeers()).handle((reply, e) -> {
      if (e != null) {
        boolean notSent = unwrap(e) instanceof Forwarder.NeverSent || neverConnected(e);
        throw new java.util.concurrent.CompletionException(notSent ? new NotProposed() : e);
      }
      if (!reply.isSuccess()) {
        throw new java.util.concurrent.CompletionException(reply.getException()); // unknown outcome
      }
      byte[] answer = reply.getMessage().getContent().toByteArray();
      if (answer.length > 0 && answer[0] == ANSWER_NOT_PROPOSED) {
        throw new NotProposed();
      }
      if (answer.length > 0 && answer[0] == ANSWER_ERROR) {
        throw errorOf(answer);
      }
      return null;
    });
  }

  /** Whether {@code e} says the connection to the leader could not be opened (nothing was sent). */
  private static boolean neverConnected(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.ConnectException) {
        return true;
      }
    }
    return false;
  }

  private static Throwable unwrap(Throwable e) {
    while ((e instanceof java.util.concurrent.CompletionException || e instanceof java.util.concurrent.ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  /** Proposes an entry of the server's own (membership) as root. */
  CompletableFuture<Applied> proposeInternal(InternalRaftRequest.Builder entry) {
    return propose(entry.setHeader(RequestHeader.newBuilder().setID(internalIds.incrementAndGet())).build());
  }

  private EtcdException toEtcd(Throwable e) {
    e = unwrap(e);
    if (e instanceof EtcdException ee) {
      return ee;
    }
    if (closed) {
      return EtcdError.STOPPED.exception();
    }
    log.debug("proposal failed", e);
    return (leaderId() == 0 ? EtcdError.PROPOSAL_DEADLINE_NO_LEADER : EtcdError.TIMEOUT).exception();
  }

  // --- reads ---

  @Override
  public CompletableFuture<Void> readBarrier() {
    if (closed) {
      return CompletableFuture.failedFuture(EtcdError.STOPPED.exception());
    }
    return reads.await();
  }

  /**
   * One ReadIndex round. Without a leader Ratis refuses at once; like etcd, the read keeps trying
   * until the request timeout and only then fails with "request timed out".
   */
  private CompletableFuture<Void> readRound() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    attemptRead(done, System.nanoTime() + settings.requestTimeout().toNanos());
    return done;
  }

  private void attemptRead(CompletableFuture<Void> done, long deadline) {
    RaftClientRequest req = RaftClientRequest.newBuilder()
        .setClientId(localClient)
        .setServerId(self)
        .setGroupId(groupId)
        .setCallId(callIds.incrementAndGet())
        .setMessage(Message.EMPTY)
        .setType(RaftClientRequest.readRequestType())
        .build();
    CompletableFuture<RaftClientReply> sent;
    try {
      sent = server.submitClientRequestAsync(req);
    } catch (IOException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    long left = deadline - System.nanoTime();
    CompletableFuture<RaftClientReply> answer = sent;
    java.util.concurrent.ScheduledFuture<?> timer;
    try {
      timer = duties.schedule(
          () -> answer.completeExceptionally(new java.util.concurrent.TimeoutException("read index")),
          Math.max(1, left), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException x) {
      done.completeExceptionally(EtcdError.STOPPED.exception());
      return;
    }
    // completed on a Ratis thread that may hold Ratis' locks: continue (and start the next round,
    // which calls back into Ratis) on our own thread, or the two can deadlock
    answer.whenComplete((reply, e) -> timer.cancel(false)).whenCompleteAsync((reply, e) -> {
      if (e == null && reply.isSuccess()) {
        done.complete(null);
        return;
      }
      if (closed) {
        done.completeExceptionally(EtcdError.STOPPED.exception());
      } else if (System.nanoTime() + 100_000_000L >= deadline) {
        done.completeExceptionally(EtcdError.TIMEOUT.exception());
      } else {
        try {
          duties.schedule(() -> attemptRead(done, deadline), 100, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException x) {
          done.completeExceptionally(EtcdError.STOPPED.exception());
        }
      }
    }, callbacks);
  }

  // --- state ---

  @Override
  public long leaderChangesSeen() {
    return leaderChanges.get();
  }

  @Override
  public long term() {
    return division.getInfo().getCurrentTerm();
  }

  @Override
  public long appliedIndex() {
    return division.getInfo().getLastAppliedIndex();
  }

  @Override
  public long committedIndex() {
    return division.getRaftLog().getLastCommittedIndex();
  }

  @Override
  public long leaderId() {
    RaftPeerId leader = division.getInfo().getLeaderId();
    return leader == null ? 0 : RaftPeers.memberId(leader);
  }

  @Override
  public long memberId() {
    return settings.memberId();
  }

  @Override
  public boolean isLearner() {
    Member m = table.member(settings.memberId());
    return m != null ? m.getIsLearner() : division.getInfo().isListener();
  }

  @Override
  public long clusterId() {
    return table.clusterId();
  }

  /** The replicated table; before this member applied the bootstrap, the members it started with. */
  @Override
  public List<Member> members() {
    return table.isEmpty() ? settings.initialMembers() : table.members();
  }

  /**
   * Completes once the replicated member table holds this member's name and client URLs, as etcd's
   * publish: only then does a member serve clients (it takes a leader and a quorum).
   */
  public CompletableFuture<Void> published() {
    return membership.published;
  }

  // --- membership ---

  @Override
  public CompletableFuture<Member> addMember(List<String> peerUrls, boolean learner) {
    if (division.getInfo().isLeader()) {
      return membership.add(peerUrls, learner);
    }
    // the leader knows which members are connected: it checks, then this member proposes (so that
    // the answer, with the member list, comes once this member applied the addition)
    ByteBuffer b = ByteBuffer.allocate(2).put(QUERY_ADD).put((byte) (learner ? 1 : 0));
    return sendToLeader(b.array()).thenCompose(r -> membership.propose(membership.newMember(peerUrls, learner)));
  }

  @Override
  public CompletableFuture<Void> removeMember(long id) {
    return membership.remove(id);
  }

  @Override
  public CompletableFuture<Void> updateMember(long id, List<String> peerUrls) {
    return membership.update(id, peerUrls);
  }

  @Override
  public CompletableFuture<Void> promoteMember(long id) {
    if (division.getInfo().isLeader()) {
      return membership.promote(id);
    }
    ByteBuffer b = ByteBuffer.allocate(9).put(QUERY_PROMOTE).putLong(id);
    return sendToLeader(b.array()).thenApply(r -> null);
  }

  @Override
  public CompletableFuture<Void> moveLeader(long target, java.time.Duration patience) {
    return membership.moveLeader(target, patience);
  }

  @Override
  public java.time.Duration requestTimeout() {
    return settings.requestTimeout();
  }

  // --- leader queries ---

  /** Sets who answers {@link #askLeader} requests when this member leads. */
  public void answerLeaderQueries(LeaderQueries queries) {
    this.leaderQueries = queries;
  }

  @Override
  public CompletableFuture<byte[]> askLeader(byte[] request) {
    byte[] framed = new byte[request.length + 1];
    framed[0] = QUERY_APP;
    System.arraycopy(request, 0, framed, 1, request.length);
    if (division.getInfo().isLeader()) {
      return leaderQueries.answer(request);
    }
    return sendToLeader(framed);
  }

  private CompletableFuture<byte[]> sendToLeader(byte[] framed) {
    RaftPeerId leader = division.getInfo().getLeaderId();
    if (leader == null) {
      return CompletableFuture.failedFuture(EtcdError.NO_LEADER.exception());
    }
    return forwarder.sendStaleRead(Message.valueOf(UnsafeByteOperations.unsafeWrap(framed)), leader)
        .orTimeout(settings.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .handle((reply, e) -> {
          if (e != null) {
            throw toEtcd(e);
          }
          if (!reply.isSuccess()) {
            throw toEtcd(reply.getException());
          }
          byte[] answer = reply.getMessage().getContent().toByteArray();
          if (answer.length > 0 && answer[0] == ANSWER_ERROR) {
            throw errorOf(answer);
          }
          byte[] out = new byte[Math.max(0, answer.length - 1)];
          System.arraycopy(answer, 1, out, 0, out.length);
          return out;
        });
  }

  /** Runs on gRPC threads of the leader's Ratis server: answers a member's leader query. */
  private CompletableFuture<ByteString> answer(ByteString framed) {
    if (!framed.isEmpty() && framed.byteAt(0) == QUERY_PROPOSE) {
      // hands the proposals to the batcher, which at most hands an entry to Ratis' own executor
      return division.getInfo().isLeader() ? proposeFromFollower(framed.toByteArray())
          : CompletableFuture.completedFuture(answerOf(ANSWER_NOT_PROPOSED));
    }
    // called by Ratis on its own threads: answer from ours
    return CompletableFuture.supplyAsync(() -> answerHere(framed), callbacks).thenCompose(f -> f);
  }

  private CompletableFuture<ByteString> answerHere(ByteString framed) {
    byte[] req = framed.toByteArray();
    CompletableFuture<byte[]> answer;
    if (req.length == 0) {
      answer = CompletableFuture.failedFuture(EtcdError.NOT_LEADER.exception());
    } else if (!division.getInfo().isLeader()) {
      answer = CompletableFuture.failedFuture(EtcdError.NOT_LEADER.exception());
    } else if (req[0] == QUERY_ADD && req.length == 2) {
      answer = membership.checkAdd(req[1] == 1).thenApply(ok -> new byte[0]);
    } else if (req[0] == QUERY_PROMOTE) {
      answer = membership.promote(ByteBuffer.wrap(req, 1, 8).getLong()).thenApply(v -> new byte[0]);
    } else {
      byte[] body = new byte[req.length - 1];
      System.arraycopy(req, 1, body, 0, body.length);
      answer = leaderQueries.answer(body);
    }
    return answer.handle((ok, e) -> {
      if (e != null) {
        return errorAnswer(e instanceof EtcdException x ? x
            : e.getCause() instanceof EtcdException x2 ? x2 : EtcdError.TIMEOUT.exception());
      }
      byte[] out = new byte[ok.length + 1];
      out[0] = ANSWER_OK;
      System.arraycopy(ok, 0, out, 1, ok.length);
      return UnsafeByteOperations.unsafeWrap(out);
    });
  }

  /**
   * The leader: a follower's proposals join this member's next entry; answered once that entry was
   * applied here (the follower's clients hear from the follower's own apply), or why it was not.
   */
  private CompletableFuture<ByteString> proposeFromFollower(byte[] req) {
    if (req.length < 2) {
      return CompletableFuture.completedFuture(answerOf(ANSWER_NOT_PROPOSED));
    }
    byte[] fragment = new byte[req.length - 2];
    System.arraycopy(req, 2, fragment, 0, fragment.length);
    CompletableFuture<ByteString> answer = new CompletableFuture<>();
    // on a Ratis server thread: sending the entry from here only hands it to Ratis' client
    // executor (submitClientRequestAsync neither blocks nor takes locks on the caller's thread)
    leaderEntries.add(fragment, req[1] == 1, e -> {
      if (e == null) {
        answer.complete(answerOf(ANSWER_OK));
      } else if (unwrap(e) instanceof NotProposed) {
        answer.complete(answerOf(ANSWER_NOT_PROPOSED));
      } else {
        answer.complete(errorAnswer(toEtcd(e)));
      }
    });
    return answer;
  }

  /** An answer of one byte ({@link #ANSWER_OK} without a body, {@link #ANSWER_NOT_PROPOSED}). */
  private static ByteString answerOf(byte code) {
    return UnsafeByteOperations.unsafeWrap(new byte[] {code});
  }

  /** {@link #ANSWER_ERROR} and the name of the etcd error, which the asking member raises again. */
  private static ByteString errorAnswer(EtcdException e) {
    byte[] name = e.error().name().getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[name.length + 1];
    out[0] = ANSWER_ERROR;
    System.arraycopy(name, 0, out, 1, name.length);
    return UnsafeByteOperations.unsafeWrap(out);
  }

  /** The etcd error an {@link #ANSWER_ERROR} answer names. */
  private static EtcdException errorOf(byte[] answer) {
    return EtcdError.valueOf(new String(answer, 1, answer.length - 1, StandardCharsets.UTF_8)).exception();
  }

  // --- events ---

  private final class StateMachineEvents implements EtcdStateMachine.Events {
    private boolean leading; // raft-events thread only

    @Override
    public void applied(InternalRaftRequest entry, Object result) {
      pending.applied(entry.getHeader().getID(), result);
    }

    @Override
    public void entryCommitted() {
      heartbeats.entryCommitted();
    }

    @Override
    public void leaderChanged(RaftPeerId leader) {
      RaftPeerId before = lastLeaderSeen.getAndSet(leader);
      if (leader != null && !leader.equals(before)) {
        leaderChanges.incrementAndGet();
      }
      boolean now = self.equals(leader);
      if (leader != null && !now && forwarder != null) {
        forwarder.prepare(leader);
      }
      events.execute(() -> {
        if (now != leading) {
          leading = now;
          log.info("member {} {} leading", self, now ? "is now" : "stopped");
          leadership.accept(now);
        }
      });
    }

    @Override
    public CompletableFuture<ByteString> leaderQuery(ByteString request) {
      return answer(request);
    }
  }

  private void dutyTick() {
    if (closed) {
      return;
    }
    try {
      followMovedPeers();
      membership.tick();
    } catch (RuntimeException e) {
      log.warn("membership duty failed", e);
    }
  }

  /**
   * Duty thread: a member whose first peer URL changed in the table ({@code member update}) is
   * reached at its new address from now on. Ratis keeps the logical address; its channels to the
   * member are closed and the next ones resolve the new address. Closing a channel may wait for
   * it (seconds), so it happens on a thread of its own, not on the duty thread that runs timeouts.
   */
  private void followMovedPeers() {
    for (Member m : table.members()) {
      if (m.getID() == settings.memberId() || !RaftPeers.recordAddress(m)) {
        continue;
      }
      RaftPeerId peer = RaftPeers.peerId(m.getID());
      String address = PeerAddressBook.address(m.getID());
      log.info("member {} moved to {}: reconnecting to it", peer, address);
      IOException moved = new IOException("member " + peer + " moved to " + address);
      Thread t = new Thread(() -> {
        server.getServerRpc().handleException(peer, moved, true);
        client.getClientRpc().handleException(peer, moved, true);
        forwarder.reconnectAll(peer, moved);
      }, "raft-peer-moved");
      t.setDaemon(true);
      t.start();
    }
  }

  RaftPeerId self() {
    return self;
  }

  @Override
  public void close() {
    closed = true;
    duties.shutdownNow();
    forwarder.close();
    try {
      client.close();
    } catch (IOException e) {
      log.debug("closing the raft client", e);
    }
    try {
      server.close();
    } catch (IOException e) {
      log.warn("closing the raft server", e);
    }
    leaderEntries.close();
    forwardedEntries.close();
    events.shutdownNow();
    callbacks.shutdownNow();
    pending.failAll(EtcdError.STOPPED.exception());
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
