package io.etcetera.server.grpc;

import io.etcetera.api.etcdserverpb.AlarmRequest;
import io.etcetera.api.etcdserverpb.AlarmResponse;
import io.etcetera.api.etcdserverpb.DefragmentRequest;
import io.etcetera.api.etcdserverpb.DefragmentResponse;
import io.etcetera.api.etcdserverpb.MaintenanceGrpc;
import io.etcetera.api.etcdserverpb.StatusRequest;
import io.etcetera.api.etcdserverpb.StatusResponse;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.raft.RaftGateway;
import io.etcetera.server.cluster.MemberIdentity;
import io.etcetera.server.Version;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * etcd's Maintenance service: Status (the etcd version clients gate features on, sizes, Raft
 * positions, raised alarms), Alarm (every action through the log), HashKV (etcd's hash of the
 * key-value rows), Hash (etcd's hash of the whole database), Snapshot (the store as etcd's bbolt
 * database, streamed), Defragment (a full RocksDB compaction) and MoveLeader. Downgrade (etcd
 * 3.5's API) answers UNIMPLEMENTED.
 *
 * <p>Threading: gRPC executor threads; everything it reads is thread-safe.
 */
public final class MaintenanceService extends MaintenanceGrpc.MaintenanceImplBase {
  private final MemberIdentity id;
  private final RaftGateway raft;
  private final Backend backend;
  private final HeaderFiller headers;

  private final io.etcetera.server.auth.Authenticator authenticator;

  private final io.etcetera.mvcc.alarm.AlarmStore alarms;
  private final Proposer proposer;
  private final io.etcetera.mvcc.kv.MvccStore store;
  private final io.etcetera.server.snapshot.SnapshotStreamer snapshots;
  private final io.etcetera.server.snapshot.EtcdDbView etcdDb;

  public MaintenanceService(MemberIdentity id, RaftGateway raft, Backend backend, HeaderFiller headers,
      io.etcetera.server.auth.Authenticator authenticator, io.etcetera.mvcc.alarm.AlarmStore alarms, Proposer proposer,
      io.etcetera.mvcc.kv.MvccStore store, io.etcetera.server.snapshot.EtcdDbView etcdDb,
      io.etcetera.server.snapshot.SnapshotStreamer snapshots) {
    this.snapshots = snapshots;
    this.etcdDb = etcdDb;
    this.store = store;
    this.alarms = alarms;
    this.proposer = proposer;
    this.authenticator = authenticator;
    this.id = id;
    this.raft = raft;
    this.backend = backend;
    this.headers = headers;
  }

  @Override
  public void status(StatusRequest request, StreamObserver<StatusResponse> out) {
    StatusResponse.Builder b = StatusResponse.newBuilder();
    if (raft.leaderId() == 0) {
      b.addErrors(io.etcetera.api.errors.EtcdError.NO_LEADER.message()); // as etcd's Status
    }
    for (io.etcetera.api.etcdserverpb.AlarmMember a : alarms.active()) {
      b.addErrors(alarmText(a));
    }
    Replies.ok(out, b
        .setHeader(headers.current())
        .setVersion(Version.ETCD_API)
        .setDbSize(backend.sizeOnDisk())
        .setDbSizeInUse(backend.sizeInUse())
        .setLeader(raft.leaderId())
        .setRaftIndex(raft.committedIndex())
        .setRaftTerm(raft.term())
        .setRaftAppliedIndex(raft.appliedIndex())
        .setIsLearner(raft.isLearner())
        .build());
  }

  /** etcd's MoveLeader: admin only, answered by the leader, to a voter. */
  @Override
  public void moveLeader(io.etcetera.api.etcdserverpb.MoveLeaderRequest request,
      StreamObserver<io.etcetera.api.etcdserverpb.MoveLeaderResponse> out) {
    try {
      authenticator.store().checkAdmin(authenticator.current());
    } catch (RuntimeException e) {
      Replies.fail(out, e);
      return;
    }
    raft.moveLeader(request.getTargetID(), moveLeaderPatience()).whenComplete((v, e) -> {
      if (e != null) {
        Replies.fail(out, e);
      } else {
        Replies.ok(out, io.etcetera.api.etcdserverpb.MoveLeaderResponse.newBuilder().setHeader(headers.current()).build());
      }
    });
  }

  /**
   * How long a MoveLeader waits for the transferee to lead: etcd waits until the caller's deadline;
   * without one, etcd's request timeout bounds it here.
   */
  private java.time.Duration moveLeaderPatience() {
    io.grpc.Deadline deadline = io.grpc.Context.current().getDeadline();
    if (deadline == null) {
      return raft.requestTimeout();
    }
    return java.time.Duration.ofMillis(Math.max(0, deadline.timeRemaining(java.util.concurrent.TimeUnit.MILLISECONDS)));
  }

  /**
   * etcd's authMaintenanceServer check for Defragment, Snapshot, Hash and HashKV: admin only, and
   * the auth store's refusals reach the client untranslated (gRPC Unknown, {@code auth: ...}).
   */
  private void checkMaintenanceAdmin() {
    try {
      authenticator.store().checkAdmin(authenticator.current());
    } catch (io.etcetera.api.errors.EtcdException e) {
      throw switch (e.error()) {
        case USER_EMPTY -> io.etcetera.api.errors.EtcdError.AUTH_RAW_USER_EMPTY.exception();
        case USER_NOT_FOUND -> io.etcetera.api.errors.EtcdError.AUTH_RAW_USER_NOT_FOUND.exception();
        case PERMISSION_DENIED -> io.etcetera.api.errors.EtcdError.AUTH_RAW_PERMISSION_DENIED.exception();
        default -> e;
      };
    }
  }

  /** etcd's text of an alarm in Status errors: Go's compact text form of the AlarmMember. */
  static String alarmText(io.etcetera.api.etcdserverpb.AlarmMember a) {
    return "memberID:" + Long.toUnsignedString(a.getMemberID()) + " alarm:" + a.getAlarm().name() + " ";
  }

  /** etcd's Alarm: every action (GET too) goes through the log, so all members answer alike. */
  @Override
  public void alarm(AlarmRequest request, StreamObserver<AlarmResponse> out) {
    proposer.propose(io.etcetera.api.etcdserverpb.InternalRaftRequest.newBuilder().setAlarm(request)).whenComplete((a, t) -> {
      if (t != null) {
        Replies.fail(out, t);
      } else {
        AlarmResponse r = (AlarmResponse) a.response();
        Replies.ok(out, r.toBuilder().setHeader(headers.current()).build());
      }
    });
  }

  /**
   * etcd's HashKV (admin only): the CRC of the key-value rows up to a revision, equal to etcd's for
   * the same history ({@link io.etcetera.mvcc.kv.KvHash}).
   */
  @Override
  public void hashKV(io.etcetera.api.etcdserverpb.HashKVRequest request,
      StreamObserver<io.etcetera.api.etcdserverpb.HashKVResponse> out) {
    try {
      checkMaintenanceAdmin();
      io.etcetera.mvcc.kv.KvHash h = store.hashKv(request.getRevision());
      Replies.ok(out, io.etcetera.api.etcdserverpb.HashKVResponse.newBuilder()
          .setHeader(headers.current().toBuilder().setRevision(h.currentRevision()))
          .setHash((int) h.hash())
          .setCompactRevision(h.compactRevision())
          .setHashRevision(h.hashRevision())
          .build());
    } catch (RuntimeException e) {
      Replies.fail(out, e);
    }
  }

  /**
   * etcd's Hash (admin only): the CRC-32C of this member's state as etcd's backend database, all
   * buckets but {@code meta}'s {@code consistent_index} ({@link io.etcetera.mvcc.snapshot.EtcdDbExport#hash}),
   * with the revision it was taken at. Like etcd's it covers membership and auth too, so members
   * differ where those rows do (member IDs are in them); HashKV compares keyspaces.
   */
  @Override
  public void hash(io.etcetera.api.etcdserverpb.HashRequest request,
      StreamObserver<io.etcetera.api.etcdserverpb.HashResponse> out) {
    try {
      checkMaintenanceAdmin();
      io.etcetera.mvcc.snapshot.EtcdDbExport.Hash h = etcdDb.hash();
      Replies.ok(out, io.etcetera.api.etcdserverpb.HashResponse.newBuilder()
          .setHeader(headers.current().toBuilder().setRevision(h.revision()))
          .setHash((int) h.hash())
          .build());
    } catch (java.io.IOException e) {
      Replies.fail(out, io.grpc.Status.INTERNAL.withDescription("etcetera: cannot hash the database: " + e.getMessage())
          .asRuntimeException());
    } catch (RuntimeException e) {
      Replies.fail(out, e);
    }
  }

  /** etcd's Snapshot (admin only): the store as a snapshot file ({@link io.etcetera.server.snapshot.SnapshotFile}). */
  @Override
  public void snapshot(io.etcetera.api.etcdserverpb.SnapshotRequest request,
      StreamObserver<io.etcetera.api.etcdserverpb.SnapshotResponse> out) {
    try {
      checkMaintenanceAdmin();
    } catch (RuntimeException e) {
      Replies.fail(out, e);
      return;
    }
    snapshots.stream((io.grpc.stub.ServerCallStreamObserver<io.etcetera.api.etcdserverpb.SnapshotResponse>) out);
  }

  @Override
  public void defragment(DefragmentRequest request, StreamObserver<DefragmentResponse> out) {
    try {
      checkMaintenanceAdmin();
      backend.compactRange();
      Replies.ok(out, DefragmentResponse.newBuilder().setHeader(headers.current()).build());
    } catch (RuntimeException e) {
      Replies.fail(out, e);
    }
  }
}
