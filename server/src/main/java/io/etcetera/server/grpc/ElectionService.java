package io.etcetera.server.grpc;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.api.etcdserverpb.WatchCreateRequest;
import io.etcetera.api.mvccpb.Event;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.api.v3electionpb.CampaignRequest;
import io.etcetera.api.v3electionpb.CampaignResponse;
import io.etcetera.api.v3electionpb.ElectionGrpc;
import io.etcetera.api.v3electionpb.LeaderKey;
import io.etcetera.api.v3electionpb.LeaderRequest;
import io.etcetera.api.v3electionpb.LeaderResponse;
import io.etcetera.api.v3electionpb.ProclaimRequest;
import io.etcetera.api.v3electionpb.ProclaimResponse;
import io.etcetera.api.v3electionpb.ResignRequest;
import io.etcetera.api.v3electionpb.ResignResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/**
 * etcd's v3election service, built as etcd builds it (clientv3's concurrency.Election on the
 * server's own KV and Watch, {@link KeyWaits}): a candidate key {@code name/<lease hex>} holding
 * the value, created with the lease; the candidate leads once no key of the election is older.
 * Proclaim and Resign act only while the leader key still has its create revision; Leader reads
 * the oldest key; Observe streams the leader's key as it is proclaimed and as leaders follow each
 * other. Errors are etcd's plain ones (gRPC Unknown: {@code election: not leader},
 * {@code election: no leader}, {@code "leader" field must be provided}).
 *
 * <p>Threading: each step continues on the thread that completed the one before; an Observe's
 * watches deliver on the watch sender's threads, one at a time.
 */
public final class ElectionService extends ElectionGrpc.ElectionImplBase {
  static final String NOT_LEADER = "election: not leader";
  static final String NO_LEADER = "election: no leader";
  static final String MISSING_LEADER_KEY = "\"leader\" field must be provided";

  private final KeyWaits keys;

  public ElectionService(io.grpc.ServerServiceDefinition kv, io.grpc.ServerServiceDefinition watch) {
    this.keys = new KeyWaits(kv, watch);
  }

  private static RuntimeException unknown(String message) {
    return Status.UNKNOWN.withDescription(message).asRuntimeException();
  }

  private static ByteString prefixOf(ByteString name) {
    return name.concat(ByteString.copyFromUtf8("/"));
  }

  @Override
  public void campaign(CampaignRequest request, StreamObserver<CampaignResponse> out) {
    KeyWaits.Session s = new KeyWaits.Session();
    ByteString prefix = prefixOf(request.getName());
    ByteString key = prefix.concat(ByteString.copyFromUtf8(Long.toHexString(request.getLease())));
    long[] rev = {0};
    if (out instanceof ServerCallStreamObserver<CampaignResponse> call) {
      call.setOnCancelHandler(() -> {
        // etcd: a campaign whose context ended resigns
        s.leave();
        resign(s, key, rev[0]);
      });
    }
    TxnRequest t = TxnRequest.newBuilder()
        .addCompare(createRevisionIs(key, 0))
        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key).setValue(request.getValue())
            .setLease(request.getLease())))
        .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
        .build();
    CompletableFuture<ResponseHeader> won = keys.txn(s, t).thenCompose(r -> {
      rev[0] = r.getHeader().getRevision();
      CompletableFuture<Void> proclaimed = CompletableFuture.completedFuture(null);
      if (!r.getSucceeded()) {
        KeyValue kv = r.getResponses(0).getResponseRange().getKvs(0);
        rev[0] = kv.getCreateRevision();
        if (!kv.getValue().equals(request.getValue())) {
          proclaimed = proclaim(s, key, rev[0], request.getLease(), request.getValue()).thenAccept(h -> { });
        }
      }
      return proclaimed.thenCompose(v -> keys.waitDeletes(s, prefix, rev[0] - 1)).thenApply(h -> r.getHeader());
    });
    won.whenComplete((header, e) -> {
      if (e == null) {
        Replies.ok(out, CampaignResponse.newBuilder().setHeader(header).setLeader(LeaderKey.newBuilder()
            .setName(request.getName()).setKey(key).setRev(rev[0]).setLease(request.getLease())).build());
      } else if (!s.gone.get()) {
        Replies.fail(out, KeyWaits.cause(e));
      }
    });
  }

  private static Compare createRevisionIs(ByteString key, long rev) {
    return Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
        .setResult(Compare.CompareResult.EQUAL).setCreateRevision(rev).build();
  }

  /** etcd's Election.Proclaim: puts the value while the key still has its create revision. */
  private CompletableFuture<ResponseHeader> proclaim(KeyWaits.Session s, ByteString key, long rev, long lease,
      ByteString value) {
    TxnRequest t = TxnRequest.newBuilder().addCompare(createRevisionIs(key, rev))
        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key).setValue(value).setLease(lease)))
        .build();
    return keys.txn(s, t).thenApply(r -> {
      if (!r.getSucceeded()) {
        throw unknown(NOT_LEADER);
      }
      return r.getHeader();
    });
  }

  /** etcd's Election.Resign: deletes the key while it still has its create revision. */
  private CompletableFuture<TxnResponse> resign(KeyWaits.Session s, ByteString key, long rev) {
    return keys.txn(s, TxnRequest.newBuilder().addCompare(createRevisionIs(key, rev))
        .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key))).build());
  }

  @Override
  public void proclaim(ProclaimRequest request, StreamObserver<ProclaimResponse> out) {
    if (!request.hasLeader()) {
      Replies.fail(out, unknown(MISSING_LEADER_KEY));
      return;
    }
    LeaderKey l = request.getLeader();
    proclaim(new KeyWaits.Session(), l.getKey(), l.getRev(), l.getLease(), request.getValue()).whenComplete((h, e) -> {
      if (e != null) {
        Replies.fail(out, KeyWaits.cause(e));
      } else {
        Replies.ok(out, ProclaimResponse.newBuilder().setHeader(h).build());
      }
    });
  }

  @Override
  public void resign(ResignRequest request, StreamObserver<ResignResponse> out) {
    if (!request.hasLeader()) {
      Replies.fail(out, unknown(MISSING_LEADER_KEY));
      return;
    }
    LeaderKey l = request.getLeader();
    resign(new KeyWaits.Session(), l.getKey(), l.getRev()).whenComplete((r, e) -> {
      if (e != null) {
        Replies.fail(out, KeyWaits.cause(e));
      } else {
        Replies.ok(out, ResignResponse.newBuilder().setHeader(r.getHeader()).build());
      }
    });
  }

  @Override
  public void leader(LeaderRequest request, StreamObserver<LeaderResponse> out) {
    keys.range(new KeyWaits.Session(), KeyWaits.firstCreated(prefixOf(request.getName()))).whenComplete((r, e) -> {
      if (e != null) {
        Replies.fail(out, KeyWaits.cause(e));
      } else if (r.getKvsCount() == 0) {
        Replies.fail(out, unknown(NO_LEADER));
      } else {
        Replies.ok(out, LeaderResponse.newBuilder().setHeader(r.getHeader()).setKv(r.getKvs(0)).build());
      }
    });
  }

  @Override
  public void observe(LeaderRequest request, StreamObserver<LeaderResponse> out) {
    KeyWaits.Session s = new KeyWaits.Session();
    if (out instanceof ServerCallStreamObserver<LeaderResponse> call) {
      call.setOnCancelHandler(s::leave);
    }
    observeNext(s, prefixOf(request.getName()), out);
  }

  /** etcd's Election.observe, one leader at a time: find (or wait for) the leader, follow its key until deleted. */
  private void observeNext(KeyWaits.Session s, ByteString prefix, StreamObserver<LeaderResponse> out) {
    if (s.gone.get()) {
      return;
    }
    keys.range(s, KeyWaits.firstCreated(prefix)).thenCompose(r -> {
      if (r.getKvsCount() > 0) {
        return CompletableFuture.completedFuture(LeaderResponse.newBuilder().setHeader(r.getHeader()).setKv(r.getKvs(0)).build());
      }
      // no leader yet: the first put under the prefix makes one
      CompletableFuture<LeaderResponse> first = new CompletableFuture<>();
      var w = keys.open(s, WatchCreateRequest.newBuilder().setKey(prefix).setRangeEnd(KeyWaits.prefixEnd(prefix))
          .setStartRevision(r.getHeader().getRevision()).build(), resp -> {
            for (Event ev : resp.getEventsList()) {
              if (ev.getType() == Event.EventType.PUT) {
                first.complete(LeaderResponse.newBuilder()
                    .setHeader(resp.getHeader().toBuilder().setRevision(ev.getKv().getModRevision())).setKv(ev.getKv()).build());
                return;
              }
            }
          }, first);
      first.whenComplete((v, e) -> w.cancel());
      return first;
    }).thenCompose(leader -> {
      send(out, leader);
      return follow(s, leader, out);
    }).whenComplete((v, e) -> {
      if (e == null) {
        observeNext(s, prefix, out);
      } else if (!s.gone.get()) {
        Replies.fail(out, KeyWaits.cause(e));
      }
    });
  }

  /** Sends each new value of the leader's key until the key is deleted. */
  private CompletableFuture<Void> follow(KeyWaits.Session s, LeaderResponse leader, StreamObserver<LeaderResponse> out) {
    CompletableFuture<Void> deleted = new CompletableFuture<>();
    var w = keys.open(s, WatchCreateRequest.newBuilder().setKey(leader.getKv().getKey())
        .setStartRevision(leader.getHeader().getRevision() + 1).build(), resp -> {
          for (Event ev : resp.getEventsList()) {
            if (ev.getType() == Event.EventType.DELETE) {
              deleted.complete(null);
              return;
            }
            send(out, LeaderResponse.newBuilder().setHeader(resp.getHeader()).setKv(ev.getKv()).build());
          }
        }, deleted);
    deleted.whenComplete((v, e) -> w.cancel());
    return deleted;
  }

  private static void send(StreamObserver<LeaderResponse> out, LeaderResponse r) {
    try {
      out.onNext(r);
    } catch (RuntimeException gone) {
      // the observer went away; its cancel handler stops the watches
    }
  }
}
