package io.etcetera.raft.ratis;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Packs the proposals that wait at the same time into one log entry: each Ratis entry costs an
 * append, a replication round, a commit notice and an apply, whatever it carries, so under load
 * many requests share them (etcd gets the same from raft's batched Ready). At most
 * {@code maxInFlight} entries are sent and not yet answered; while they are, new proposals gather
 * in the queue and leave together. A lone proposal leaves at once, so one client waits for nothing:
 * when nothing is queued or in flight, {@link #add} sends it from the caller's thread (no hand-off).
 *
 * <p>A proposal is a <em>fragment</em>: one or more requests, each encoded as the repeated
 * {@code batch} field of {@code InternalRaftRequest}, so that concatenated fragments are one
 * encoded entry. A fragment marked {@code alone} (membership changes) travels in an entry of its
 * own.
 *
 * <p>Threading: {@link #add} from any thread (the sender must not block, as it may run there).
 * One own thread takes the queue and calls the sender; each fragment's {@code done} runs where
 * the entry's future completes (null: sent and answered with success; else the failure).
 * Concurrent proposals have no order between them (as etcd's); one caller's proposals made one
 * after the other leave in that order.
 */
final class ProposalBatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProposalBatcher.class);
  /** Requests above this many bytes together leave in the next entry (etcd's request limit is 1.5 MiB). */
  static final int MAX_ENTRY_BYTES = 512 * 1024;
  static final int MAX_FRAGMENTS = 256;

  private record Fragment(byte[] bytes, boolean alone, Consumer<Throwable> done) {}

  private final LinkedBlockingQueue<Fragment> queue = new LinkedBlockingQueue<>();
  /** Fragments queued or taken by the batcher's thread and not yet sent: none, and one may skip the queue. */
  private final java.util.concurrent.atomic.AtomicInteger unsent = new java.util.concurrent.atomic.AtomicInteger();
  private final Semaphore inFlight;
  private final BiFunction<byte[], Boolean, CompletableFuture<?>> sender;
  private final Thread thread;
  private volatile boolean closed;
  /** Only the batcher's thread: a fragment taken from the queue that did not fit the last entry. */
  private Fragment carried;

  /**
   * @param sender sends one encoded entry, and whether it is a fragment marked alone (a forwarder
   *     must keep it alone in the leader's entries); its future completes once the entry was applied (or
   *     failed)
   */
  ProposalBatcher(String threadName, int maxInFlight, BiFunction<byte[], Boolean, CompletableFuture<?>> sender) {
    this.inFlight = new Semaphore(maxInFlight);
    this.sender = sender;
    this.thread = new Thread(this::run, threadName);
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * Proposes a fragment; {@code done} hears its entry's outcome. With nothing queued and an entry
   * slot free, the fragment leaves at once as an entry of its own, sent from this thread.
   */
  void add(byte[] fragment, boolean alone, Consumer<Throwable> done) {
    if (closed) {
      done.accept(new IllegalStateException("closed"));
      return;
    }
    Fragment f = new Fragment(fragment, alone, done);
    if (unsent.get() == 0 && inFlight.tryAcquire()) {
      send(List.of(f), fragment.length);
      return;
    }
    unsent.incrementAndGet();
    queue.add(f);
  }

  private void run() {
    try {
      while (!closed) {
        Fragment first = carried != null ? carried : queue.take();
        carried = null;
        inFlight.acquire(); // meanwhile later proposals gather in the queue
        List<Fragment> entry = new ArrayList<>();
        entry.add(first);
        int bytes = first.bytes.length;
        while (!first.alone && entry.size() < MAX_FRAGMENTS) {
          Fragment next = queue.poll();
          if (next == null) {
            break;
          }
          if (next.alone || bytes + next.bytes.length > MAX_ENTRY_BYTES) {
            carried = next;
            break;
          }
          entry.add(next);
          bytes += next.bytes.length;
        }
        send(entry, bytes);
        unsent.addAndGet(-entry.size());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void send(List<Fragment> entry, int bytes) {
    byte[] encoded = new byte[bytes];
    int at = 0;
    for (Fragment f : entry) {
      System.arraycopy(f.bytes, 0, encoded, at, f.bytes.length);
      at += f.bytes.length;
    }
    CompletableFuture<?> sent;
    try {
      sent = sender.apply(encoded, entry.get(0).alone);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    sent.whenComplete((ok, e) -> {
      inFlight.release();
      for (Fragment f : entry) {
        try {
          f.done.accept(e);
        } catch (RuntimeException x) {
          log.warn("a proposal's completion failed", x);
        }
      }
    });
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    Fragment f;
    while ((f = queue.poll()) != null) {
      f.done.accept(new IllegalStateException("closed"));
    }
  }
}
