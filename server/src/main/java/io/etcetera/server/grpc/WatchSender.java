package io.etcetera.server.grpc;

import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.api.etcdserverpb.WatchResponse;
import io.etcetera.api.mvccpb.Event;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.kv.RangeResult;
import io.etcetera.mvcc.watch.Outbound;
import io.etcetera.mvcc.watch.WatchStream;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one watch stream's queued responses to its gRPC call, only while the call is ready (HTTP/2
 * flow control): a client that stops reading leaves responses in the bounded queue, not in
 * memory elsewhere. Fills headers, adds {@code prev_kv} (read at the revision before each event,
 * as etcd's sendLoop does) and splits an oversized response into fragments for watchers that
 * asked for them.
 *
 * <p>Threading: {@link #schedule} may be called from any thread; one drain runs at a time on
 * {@code executor}, so responses are sent in queue order and never concurrently.
 */
final class WatchSender {
  private static final Logger log = LoggerFactory.getLogger(WatchSender.class);

  private final ServerCallStreamObserver<WatchResponse> call;
  private final MvccStore store;
  private final HeaderFiller headers;
  private final long maxResponseBytes;
  private final Executor executor;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private volatile WatchStream stream;
  private volatile boolean closed;
  private volatile Throwable ending;

  WatchSender(ServerCallStreamObserver<WatchResponse> call, MvccStore store, HeaderFiller headers,
      long maxResponseBytes, Executor executor) {
    this.call = call;
    this.store = store;
    this.headers = headers;
    this.maxResponseBytes = maxResponseBytes;
    this.executor = executor;
  }

  void attach(WatchStream stream) {
    this.stream = stream;
  }

  void close() {
    closed = true;
  }

  /** Ends the call with {@code error} from the sending thread (after a drain under way). */
  void end(Throwable error) {
    ending = error;
    schedule();
  }

  void schedule() {
    if (scheduled.compareAndSet(false, true)) {
      executor.execute(this::drain);
    }
  }

  private void drain() {
    Throwable error = ending;
    if (error != null) {
      if (!closed) {
        closed = true;
        try {
          call.onError(error);
        } catch (RuntimeException ignored) {
          // already cancelled
        }
      }
      scheduled.set(false);
      return;
    }
    try {
      WatchStream s = stream;
      while (s != null && !closed && call.isReady()) {
        Outbound o = s.poll();
        if (o == null) {
          break;
        }
        send(o);
      }
    } catch (RuntimeException e) {
      closed = true;
      log.debug("watch stream send failed", e);
    } finally {
      scheduled.set(false);
    }
    WatchStream s = stream;
    if ((s != null && !closed && call.isReady() && !s.isEmpty()) || (ending != null && !closed)) {
      schedule();
    }
  }

  private ResponseHeader header(long revision) {
    return headers.withRevision(revision);
  }

  private void send(Outbound o) {
    if (o instanceof Outbound.Events e) {
      sendEvents(e);
    } else if (o instanceof Outbound.Created c) {
      call.onNext(WatchResponse.newBuilder()
          .setHeader(header(c.revision()))
          .setWatchId(c.watchId())
          .setCreated(true)
          .setCanceled(c.canceled())
          .setCancelReason(c.cancelReason())
          .build());
    } else if (o instanceof Outbound.Progress p) {
      call.onNext(WatchResponse.newBuilder()
          .setHeader(header(p.revision()))
          .setWatchId(p.watchId())
          .build());
    } else if (o instanceof Outbound.Canceled c) {
      call.onNext(WatchResponse.newBuilder()
          .setHeader(header(c.revision()))
          .setWatchId(c.watchId())
          .setCanceled(true)
          .setCompactRevision(c.compactRevision())
          .setCancelReason(c.cancelReason())
          .build());
    }
  }

  private void sendEvents(Outbound.Events e) {
    WatchResponse.Builder b = WatchResponse.newBuilder()
        .setHeader(header(e.revision()))
        .setWatchId(e.watcher().id());
    for (Event ev : e.events()) {
      b.addEvents(e.watcher().prevKv() ? withPrevKv(ev) : ev);
    }
    WatchResponse whole = b.build();
    if (!e.watcher().fragment() || whole.getSerializedSize() < maxResponseBytes || whole.getEventsCount() < 2) {
      call.onNext(whole);
      return;
    }
    // etcd's sendFragments: as many events per response as fit, every part but the last marked fragment
    List<Event> evs = whole.getEventsList();
    int idx = 0;
    while (idx < evs.size()) {
      WatchResponse.Builder part = whole.toBuilder().clearEvents().setFragment(true);
      while (idx < evs.size()) {
        part.addEvents(evs.get(idx));
        if (part.getEventsCount() > 1 && part.build().getSerializedSize() >= maxResponseBytes) {
          part.removeEvents(part.getEventsCount() - 1);
          break;
        }
        idx++;
      }
      if (idx == evs.size()) {
        part.setFragment(false);
      }
      call.onNext(part.build());
    }
  }

  /** The event with the key's previous value, except for a create (etcd's IsCreateEvent). */
  private Event withPrevKv(Event ev) {
    KeyValue kv = ev.getKv();
    if (ev.getType() == Event.EventType.PUT && kv.getCreateRevision() == kv.getModRevision()) {
      return ev;
    }
    try {
      RangeResult r = store.range(kv.getKey().toByteArray(), new byte[0], kv.getModRevision() - 1, 0, false);
      if (!r.kvs().isEmpty()) {
        return ev.toBuilder().setPrevKv(r.kvs().get(0)).build();
      }
    } catch (RuntimeException ignored) {
      // compacted meanwhile: etcd sends the event without prev_kv too
    }
    return ev;
  }
}
