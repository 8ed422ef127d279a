package io.etcetera.raft.ratis;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends this member's requests to the leader: leader queries through a Ratis client's blocking
 * API, each request on its own (the async API orders all requests of a client in one sliding
 * window: once one exhausted its retries, as while there is no quorum, those behind it stall);
 * proposals through the raw RPC of a client that never retries.
 *
 * <p>Threading: any thread; leader queries wait on the "raft-forward-N" pool, which bounds how
 * many are in flight from this member, and reconnects (which may wait for a channel to close) run
 * there too; proposals complete on Ratis' client threads.
 */
final class Forwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Forwarder.class);
  private static final int THREADS = 64;

  private final RaftClient client;
  private final RaftClient once;
  private final ExecutorService pool;
  private final java.util.concurrent.atomic.AtomicLong callIds = new java.util.concurrent.atomic.AtomicLong();

  /**
   * @param client retries (leader queries)
   * @param once never retries (proposals: a retried one could be proposed twice)
   */
  Forwarder(RaftClient client, RaftClient once) {
    this.client = client;
    this.once = once;
    AtomicInteger n = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(THREADS, r -> {
      Thread t = new Thread(r, "raft-forward-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** A question only {@code server} (the leader) answers. */
  CompletableFuture<RaftClientReply> sendStaleRead(Message msg, RaftPeerId server) {
    return CompletableFuture.supplyAsync(() -> call(() -> client.io().sendStaleRead(msg, 0, server)), pool);
  }

  /**
   * A fragment of proposals for {@code leader}'s next entry, sent once as a stale read on the
   * client's long-lived unordered stream (no new HTTP/2 stream, no waiting thread); completes when
   * the leader answers, on a Ratis client thread. Fails with {@link NeverSent} when the request
   * certainly did not leave this member.
   */
  CompletableFuture<RaftClientReply> propose(Message msg, RaftPeerId leader, RaftGroupId group,
      java.util.Collection<org.apache.ratis.protocol.RaftPeer> peers) {
    RaftClientRequest req = RaftClientRequest.newBuilder()
        .setClientId(once.getId())
        .setServerId(leader)
        .setGroupId(group)
        .setCallId(callIds.incrementAndGet())
        .setMessage(msg)
        .setType(RaftClientRequest.staleReadRequestType(0))
        .build();
    CompletableFuture<RaftClientReply> sent;
    try {
      once.getClientRpc().addRaftPeers(peers);
      sent = once.getClientRpc().sendRequestAsyncUnordered(req);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(new NeverSent(e));
    }
    // Ratis refuses at once, without sending, once the stream to this peer has closed (the peer
    // stopped or the connection broke); only a reconnect opens a new one
    boolean refused = sent.isCompletedExceptionally();
    CompletableFuture<RaftClientReply> out = sent.whenComplete((reply, e) -> {
      if (e != null) {
        reconnect(once, leader, e);
      }
    });
    if (refused) {
      return out.handle((reply, e) -> {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        throw new CompletionException(cause instanceof AlreadyClosedException ? new NeverSent(cause) : cause);
      });
    }
    return out;
  }

  /**
   * Drops {@code client}'s connection to {@code peer} after {@code failure}, so that the next
   * request opens a new one (a raw RPC call, unlike the client's own API, does not). Closing a
   * channel may wait for it, so it happens on this forwarder's threads.
   */
  void reconnect(RaftClient client, RaftPeerId peer, Throwable failure) {
    try {
      pool.execute(() -> client.getClientRpc().handleException(peer, failure, true));
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // shutting down
    }
  }

  /**
   * Builds both clients' channels to a new leader on this forwarder's threads, so that the first
   * forward (sent from a client listener's transport thread) finds them ready; a leader the
   * clients do not know yet is left to the first forward.
   */
  void prepare(RaftPeerId leader) {
    try {
      pool.execute(() -> {
        for (RaftClient c : new RaftClient[] {client, once}) {
          if (c.getClientRpc() instanceof org.apache.ratis.client.impl.RaftClientRpcWithProxy<?> rpc) {
            try {
              rpc.getProxies().getProxy(leader);
            } catch (IOException | RuntimeException e) {
              log.debug("no channel to {} yet: {}", leader, e.toString());
            }
          }
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // shutting down
    }
  }

  /** Drops both clients' connections to {@code peer} (it moved), on this forwarder's threads. */
  void reconnectAll(RaftPeerId peer, Throwable why) {
    reconnect(client, peer, why);
    reconnect(once, peer, why);
  }

  /** A request that did not leave this member: safe to send again. */
  static final class NeverSent extends IOException {
    NeverSent(Throwable cause) {
      super("not sent", cause);
    }
  }

  private interface Call {
    RaftClientReply run() throws IOException;
  }

  private static RaftClientReply call(Call c) {
    try {
      return c.run();
    } catch (IOException e) {
      log.debug("forwarded request failed", e);
      throw new CompletionException(e);
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
    for (RaftClient c : new RaftClient[] {client, once}) {
      try {
        c.close();
      } catch (IOException e) {
        log.debug("closing a forwarding client", e);
      }
    }
  }
}
