package io.etcetera.raft.ratis;

import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.mvcc.apply.Applier;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.membership.MemberTable;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ratis state machine: applies each committed log entry (an {@link InternalRaftRequest}, or
 * several packed into one by the {@link ProposalBatcher}) to the store through the {@link Applier},
 * or to the {@link MemberTable}, in one RocksDB write batch that also records the entry's index
 * and term. Entries at or below the persisted index were
 * applied before a restart (Ratis replays its log from the start) and are skipped, so an entry is
 * applied exactly once.
 *
 * <p>Threading: {@link #applyTransaction} and {@link #notifyTermIndexUpdated} run on Ratis' single
 * StateMachineUpdater thread, the only writer of the store. {@link #query} answers read barriers
 * (nothing to compute: the caller reads the store once the barrier passed); {@link #queryStale}
 * carries requests that only the leader can answer (lease keep-alives) and runs on gRPC threads.
 * Leader changes are handed to {@link Events}, which must not block. Snapshots are taken and
 * installed on the apply thread too ({@link #takeSnapshot}, {@link #reinitialize}).
 */
final class EtcdStateMachine extends BaseStateMachine {
  private static final Logger log = LoggerFactory.getLogger(EtcdStateMachine.class);

  /** What the gateway learns from the state machine. */
  interface Events {
    /** An entry was applied; {@code result} is an {@link Applied} or an {@link EtcdException}. */
    void applied(InternalRaftRequest entry, Object result);

    /**
     * An entry (of any kind) is committed and about to be applied: the leader tells its followers
     * the commit index, while it applies the entry itself.
     */
    void entryCommitted();

    /** Ratis saw a new leader (or none). */
    void leaderChanged(RaftPeerId leader);

    /** A request that only this member (as leader) answers, sent by another member. */
    CompletableFuture<ByteString> leaderQuery(ByteString request);
  }

  private final MvccStore store;
  private final Applier applier;
  private final MemberTable members;
  private final Events events;
  private final Runnable reloaded;
  private final Snapshots snapshots = new Snapshots();
  /** --force-new-cluster: a fresh Raft storage continues after the store's applied index. */
  private final boolean startAfterStore;

  /**
   * @param reloaded reloads the other in-memory state (leases, auth, watchers) after a snapshot
   *     replaced the store's content; runs on the apply thread
   * @param startAfterStore the Raft storage is new but the store is not ({@link ForcedNewCluster}):
   *     the store is reported as a snapshot at its applied index, where the new log begins
   */
  EtcdStateMachine(MvccStore store, Applier applier, MemberTable members, Events events, Runnable reloaded,
      boolean startAfterStore) {
    this.startAfterStore = startAfterStore;
    this.store = store;
    this.applier = applier;
    this.members = members;
    this.events = events;
    this.reloaded = reloaded;
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage storage) throws IOException {
    super.initialize(server, groupId, storage);
    getLifeCycle().startAndTransition(() -> {
      snapshots.open(storage.getStorageDir().getStateMachineDir().toPath());
      if (startAfterStore && snapshots.latest() == null && store.appliedIndex() > 0) {
        // term 0: the new group's first term is 1, and a log's terms never decrease
        TermIndex at = TermIndex.valueOf(0, store.appliedIndex());
        snapshots.take(at, dir -> store.backend().checkpoint(dir));
        setLastAppliedTermIndex(at);
        return;
      }
      // a snapshot installed by Ratis just before a crash, not yet loaded into the store
      loadSnapshotIfNewer();
      if (store.appliedIndex() > 0) {
        setLastAppliedTermIndex(TermIndex.valueOf(store.appliedTerm(), store.appliedIndex()));
      }
      FileListSnapshotInfo latest = snapshots.latest();
      if (latest != null && latest.getIndex() > getLastAppliedTermIndex().getIndex()) {
        setLastAppliedTermIndex(latest.getTermIndex());
      }
    });
  }

  // --- snapshots (RocksDB checkpoints under Ratis' sm/ directory) ---

  @Override
  public SnapshotInfo getLatestSnapshot() {
    return snapshots.latest();
  }

  /**
   * Apply thread, every {@code --snapshot-count} entries: a checkpoint of the store at the last
   * applied entry. The store's writes are made durable first, since Ratis then purges its log.
   */
  @Override
  public long takeSnapshot() throws IOException {
    TermIndex last = getLastAppliedTermIndex();
    if (last == null || last.getIndex() <= 0) {
      return -1;
    }
    FileListSnapshotInfo taken = snapshots.take(last, dir -> store.backend().checkpoint(dir));
    log.info("took a snapshot at index {} (term {})", last.getIndex(), last.getTerm());
    return taken.getIndex();
  }

  @Override
  public void pause() {
    getLifeCycle().transition(LifeCycle.State.PAUSING);
    getLifeCycle().transition(LifeCycle.State.PAUSED);
  }

  /** Apply thread, after Ratis installed a snapshot from the leader into sm/: load it. */
  @Override
  public void reinitialize() throws IOException {
    getLifeCycle().startAndTransition(() -> {
      snapshots.rescan();
      loadSnapshotIfNewer();
      FileListSnapshotInfo latest = snapshots.latest();
      if (latest != null) {
        setLastAppliedTermIndex(latest.getTermIndex());
      }
    });
  }

  private void loadSnapshotIfNewer() {
    FileListSnapshotInfo latest = snapshots.latest();
    if (latest == null || latest.getIndex() <= store.appliedIndex()) {
      return;
    }
    log.info("loading the snapshot at index {} (the store was at {})", latest.getIndex(), store.appliedIndex());
    store.backend().replaceContentWith(snapshots.directory(latest));
    members.reload();
    reloaded.run();
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    long index = entry.getIndex();
    long term = entry.getTerm();
    if (index <= store.appliedIndex()) {
      return CompletableFuture.completedFuture(Message.EMPTY); // applied before a restart
    }
    events.entryCommitted();
    InternalRaftRequest req;
    try {
      req = InternalRaftRequest.parseFrom(entry.getStateMachineLogEntry().getLogData().toByteArray());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      log.error("log entry {} is not an etcd request; the member stops", index, e);
      Runtime.getRuntime().halt(2);
      throw new IllegalStateException(e);
    }
    // an entry carries one request, or (packed by the ProposalBatcher) several in its batch field
    java.util.List<InternalRaftRequest> requests = req.getBatchCount() == 0 ? java.util.List.of(req) : unpack(req, index);
    Object[] results = new Object[requests.size()];
    try (ApplyBatch batch = new ApplyBatch()) {
      for (int i = 0; i < results.length; i++) {
        results[i] = applyOne(batch, requests.get(i), index);
      }
      batch.setApplied(index, term);
      store.commit(batch);
    } catch (RuntimeException | Error e) {
      // the store may be half-written in memory: stop rather than serve a state we cannot vouch for
      log.error("applying log entry {} failed; the member stops", index, e);
      Runtime.getRuntime().halt(2);
      throw e;
    }
    updateLastAppliedTermIndex(term, index);
    for (int i = 0; i < results.length; i++) {
      events.applied(requests.get(i), results[i]);
    }
    return CompletableFuture.completedFuture(Message.EMPTY);
  }

  /** One request of an entry: an {@link Applied}, or the {@link EtcdException} refusing it. */
  private Object applyOne(ApplyBatch batch, InternalRaftRequest req, long index) {
    try {
      if (MemberTable.isMembershipEntry(req)) {
        members.apply(batch, req);
        return Applied.of(io.etcetera.api.etcdserverpb.EmptyResponse.getDefaultInstance());
      }
      return applier.apply(batch, req, index);
    } catch (EtcdException e) {
      return e;
    }
  }

  private static java.util.List<InternalRaftRequest> unpack(InternalRaftRequest entry, long index) {
    java.util.List<InternalRaftRequest> out = new java.util.ArrayList<>(entry.getBatchCount());
    for (com.google.protobuf.ByteString b : entry.getBatchList()) {
      try {
        out.add(InternalRaftRequest.parseFrom(b));
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        log.error("log entry {} carries a request that is not an etcd request; the member stops", index, e);
        Runtime.getRuntime().halt(2);
        throw new IllegalStateException(e);
      }
    }
    return out;
  }

  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    // configuration and no-op entries: only move forward (a replay starts below the persisted index)
    TermIndex last = getLastAppliedTermIndex();
    if (last == null || index > last.getIndex()) {
      events.entryCommitted();
      updateLastAppliedTermIndex(term, index);
    }
  }

  @Override
  public CompletableFuture<Message> query(Message request) {
    return CompletableFuture.completedFuture(Message.EMPTY);
  }

  @Override
  public CompletableFuture<Message> queryStale(Message request, long minIndex) {
    return events.leaderQuery(request.getContent()).thenApply(Message::valueOf);
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    events.leaderChanged(newLeaderId);
  }
}
