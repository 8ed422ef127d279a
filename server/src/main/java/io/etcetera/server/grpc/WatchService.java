package io.etcetera.server.grpc;

import io.etcetera.api.etcdserverpb.WatchCreateRequest;
import io.etcetera.api.etcdserverpb.WatchGrpc;
import io.etcetera.api.etcdserverpb.WatchRequest;
import io.etcetera.api.etcdserverpb.WatchResponse;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.watch.WatchException;
import io.etcetera.mvcc.watch.WatchHub;
import io.etcetera.mvcc.watch.WatchOptions;
import io.etcetera.mvcc.watch.WatchStream;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.Executor;

/**
 * etcd's Watch service: each gRPC stream is a {@link WatchStream} of the hub; requests create and
 * cancel watchers and ask for progress, and a {@link WatchSender} sends what the hub queues.
 *
 * <p>Threading: requests arrive on gRPC threads (one at a time per stream); sending runs on
 * {@code sendExecutor}.
 */
public final class WatchService extends WatchGrpc.WatchImplBase {
  private final WatchHub hub;
  private final MvccStore store;
  private final HeaderFiller headers;
  private final long maxResponseBytes;
  private final Executor sendExecutor;

  private final io.etcetera.server.auth.Authenticator authenticator;
  private final LeaderLossMonitor leaderLoss;

  public WatchService(WatchHub hub, MvccStore store, HeaderFiller headers, long maxResponseBytes, Executor sendExecutor,
      io.etcetera.server.auth.Authenticator authenticator, LeaderLossMonitor leaderLoss) {
    this.authenticator = authenticator;
    this.leaderLoss = leaderLoss;
    this.hub = hub;
    this.store = store;
    this.headers = headers;
    this.maxResponseBytes = maxResponseBytes;
    this.sendExecutor = sendExecutor;
  }

  @Override
  public StreamObserver<WatchRequest> watch(StreamObserver<WatchResponse> responses) {
    ServerCallStreamObserver<WatchResponse> call = (ServerCallStreamObserver<WatchResponse>) responses;
    WatchSender sender = new WatchSender(call, store, headers, maxResponseBytes, sendExecutor);
    WatchStream stream = hub.newStream(sender::schedule);
    sender.attach(stream);
    call.setOnReadyHandler(sender::schedule);
    // a stream that requires a leader (etcd's WithRequireLeader) ends when this member lost it
    Runnable leave = Boolean.TRUE.equals(ClusterGate.REQUIRES_LEADER.get())
        ? leaderLoss.register(() -> {
          hub.close(stream);
          sender.end(io.etcetera.api.errors.EtcdError.NO_LEADER.exception().toStatusException());
        })
        : () -> { };
    call.setOnCancelHandler(() -> {
      leave.run();
      sender.close();
      hub.close(stream);
    });
    return new StreamObserver<>() {
      @Override
      public void onNext(WatchRequest req) {
        switch (req.getRequestUnionCase()) {
          case CREATE_REQUEST -> create(stream, req.getCreateRequest());
          case CANCEL_REQUEST -> hub.cancel(stream, req.getCancelRequest().getWatchId());
          case PROGRESS_REQUEST -> hub.requestProgress(stream);
          default -> { } // etcd ignores a request it does not know rather than ending the stream
        }
      }

      @Override
      public void onError(Throwable t) {
        leave.run();
        sender.close();
        hub.close(stream);
      }

      @Override
      public void onCompleted() {
        // the client closed its sending side: as etcd's recvLoop (io.EOF ends only the receiving),
        // the watchers keep streaming until the client cancels or the connection goes (a gateway
        // watch, whose HTTP body ends after its create request, depends on it)
      }
    };
  }

  private void create(WatchStream stream, WatchCreateRequest c) {
    boolean noPut = false;
    boolean noDelete = false;
    for (WatchCreateRequest.FilterType f : c.getFiltersList()) {
      if (f == WatchCreateRequest.FilterType.NOPUT) {
        noPut = true;
      } else if (f == WatchCreateRequest.FilterType.NODELETE) {
        noDelete = true;
      }
    }
    try {
      // etcd's isWatchPermitted: a refused create answers created+canceled with the error's text
      io.etcetera.mvcc.auth.AuthInfo who = authenticator.current();
      com.google.protobuf.ByteString key = c.getKey().isEmpty()
          ? com.google.protobuf.ByteString.copyFrom(new byte[] {0}) : c.getKey();
      authenticator.store().checkRead(who, key, c.getRangeEnd());
    } catch (io.etcetera.api.errors.EtcdException e) {
      io.etcetera.api.errors.EtcdError err = e.error();
      boolean known = err == io.etcetera.api.errors.EtcdError.INVALID_AUTH_TOKEN
          || err == io.etcetera.api.errors.EtcdError.AUTH_OLD_REVISION
          || err == io.etcetera.api.errors.EtcdError.USER_EMPTY;
      io.etcetera.api.errors.EtcdError reason = known ? err : io.etcetera.api.errors.EtcdError.PERMISSION_DENIED;
      hub.refuse(stream, GoStatusText.of(reason)); // etcd sends the gRPC error's Go text

      return;
    }
    try {
      hub.watch(stream, c.getWatchId(), c.getKey(), c.getRangeEnd(), c.getStartRevision(),
          new WatchOptions(noPut, noDelete, c.getPrevKv(), c.getProgressNotify(), c.getFragment()));
    } catch (WatchException e) {
      hub.refuse(stream, e.getMessage());
    }
  }
}
