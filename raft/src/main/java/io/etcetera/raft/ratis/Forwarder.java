package io.etcetera.raft.ratis;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends this member's requests to the leader through a Ratis client. A Ratis client's ordered
 * async stream stays failed once a request exhausted its retries (as happens while there is no
 * quorum), so a client whose request failed is replaced by a fresh one for the next requests.
 *
 * <p>Threading: any thread; the current client is swapped atomically.
 */
final class Forwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Forwarder.class);

  private final Supplier<RaftClient> factory;
  private final AtomicReference<RaftClient> current;

  Forwarder(Supplier<RaftClient> factory) {
    this.factory = factory;
    this.current = new AtomicReference<>(factory.get());
  }

  CompletableFuture<RaftClientReply> send(Message msg) {
    RaftClient c = current.get();
    return watch(c, c.async().send(msg));
  }

  CompletableFuture<RaftClientReply> sendStaleRead(Message msg, RaftPeerId server) {
    RaftClient c = current.get();
    return watch(c, c.async().sendStaleRead(msg, 0, server));
  }

  private CompletableFuture<RaftClientReply> watch(RaftClient c, CompletableFuture<RaftClientReply> f) {
    return f.whenComplete((reply, e) -> {
      if (e != null && current.compareAndSet(c, factory.get())) {
        log.info("renewing the raft client after a failed request: {}", e.toString());
        closeQuietly(c);
      }
    });
  }

  private static void closeQuietly(RaftClient c) {
    try {
      c.close();
    } catch (IOException | RuntimeException e) {
      log.debug("closing a raft client", e);
    }
  }

  @Override
  public void close() {
    closeQuietly(current.get());
  }
}
