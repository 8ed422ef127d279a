package io.etcetera.mvcc.watch;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The server side of one Watch gRPC stream: its watchers and its outbound queue.
 *
 * <p>The queue is bounded for events ({@link #MAX_EVENT_ITEMS} responses or
 * {@link #MAX_EVENT_BYTES} bytes): an offer that does not fit is refused, never waited for, and the
 * hub then turns the watcher into a victim to be caught up from storage once the client reads
 * again. Control responses (created, canceled, progress) are always queued: a client gets at most
 * one per request it sent.
 *
 * <p>Threading: the queue is guarded by this object's monitor (the apply thread and the hub's sync
 * thread offer; the sender polls). The watcher map, {@code nextId} and {@code progressPending} are
 * guarded by the hub's lock. {@code wakeup} is called outside any lock the caller cannot release
 * and must only schedule the sender.
 */
public final class WatchStream {
  public static final int MAX_EVENT_ITEMS = 1024;
  public static final long MAX_EVENT_BYTES = 8L << 20;

  private final ArrayDeque<Outbound> queue = new ArrayDeque<>();
  private final Runnable wakeup;
  private int eventItems;
  private long eventBytes;
  private boolean closed;
  /** A periodic progress response is queued and not yet sent: the next tick adds none. */
  private boolean tickQueued;

  final Map<Long, Watcher> watchers = new HashMap<>();
  long nextId;
  boolean progressPending;

  WatchStream(Runnable wakeup) {
    this.wakeup = wakeup;
  }

  /** Queues events unless the stream is over its bound; returns whether they were queued. */
  boolean offerEvents(Outbound.Events e) {
    synchronized (this) {
      if (closed) {
        return true; // nobody will read them: drop, but do not make the watcher a victim
      }
      if (eventItems >= MAX_EVENT_ITEMS || (eventBytes + e.bytes() > MAX_EVENT_BYTES && eventItems > 0)) {
        return false;
      }
      queue.add(e);
      eventItems++;
      eventBytes += e.bytes();
    }
    wakeup.run();
    return true;
  }

  void offerControl(Outbound o) {
    synchronized (this) {
      if (closed) {
        return;
      }
      queue.add(o);
    }
    wakeup.run();
  }

  /** Queues periodic progress responses unless the last tick's are still unsent (a reader that stalls gets no pile). */
  boolean offerTick(java.util.List<Outbound.Progress> progress) {
    synchronized (this) {
      if (closed || tickQueued || progress.isEmpty()) {
        return false;
      }
      queue.addAll(progress);
      tickQueued = true;
    }
    wakeup.run();
    return true;
  }

  /** Sender: the next response to send, or null. */
  public Outbound poll() {
    synchronized (this) {
      Outbound o = queue.poll();
      if (o instanceof Outbound.Events e) {
        eventItems--;
        eventBytes -= e.bytes();
      } else if (o instanceof Outbound.Progress p && p.watchId() != -1) {
        tickQueued = false;
      }
      return o;
    }
  }

  /** Whether a catch-up batch may be offered: the queue is at most half full. */
  synchronized boolean hasRoom() {
    return !closed && eventItems < MAX_EVENT_ITEMS / 2 && eventBytes < MAX_EVENT_BYTES / 2;
  }

  public synchronized boolean isEmpty() {
    return queue.isEmpty();
  }

  /** Queued responses and their estimated event bytes, for tests and metrics. */
  public synchronized long queuedBytes() {
    return eventBytes;
  }

  synchronized void close() {
    closed = true;
    queue.clear();
    eventItems = 0;
    eventBytes = 0;
  }
}
