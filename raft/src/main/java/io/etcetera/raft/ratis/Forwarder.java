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
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends this member's requests to the leader through a Ratis client's blocking API, each request on
 * its own. (The async API orders all requests of a client in one sliding window: once one
 * exhausted its retries, as while there is no quorum, those behind it stall.)
 *
 * <p>Threading: any thread; requests wait on the "raft-forward-N" pool, which bounds how many are
 * in flight from this member.
 */
final class Forwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Forwarder.class);
  private static final int THREADS = 64;

  private final RaftClient client;
  private final RaftClient once;
  private final ExecutorService pool;

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
   * A fragment of proposals for {@code leader}'s next entry, sent once; blocks the calling thread
   * (the forwarding batcher's, which has one fragment in flight) until the leader answers.
   */
  CompletableFuture<RaftClientReply> propose(Message msg, RaftPeerId leader) {
    try {
      return CompletableFuture.completedFuture(call(() -> once.io().sendStaleRead(msg, 0, leader)));
    } catch (CompletionException e) {
      return CompletableFuture.failedFuture(e.getCause());
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
