package io.etcetera.server.snapshot;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.SnapshotResponse;
import io.etcetera.mvcc.bolt.BoltWriter;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maintenance.Snapshot: the store as etcd's backend database (a bbolt file written by
 * {@link io.etcetera.mvcc.snapshot.EtcdDbExport} from one RocksDB snapshot, so it holds whole applied entries), sent in chunks
 * of 64 KiB with the bytes still to come, as etcd sends them, then the SHA-256 in a last message:
 * the {@link SnapshotFile} etcd's tools read. The file is written to the scratch directory first
 * and deleted when the stream ends, however it ends.
 *
 * <p>Threading: each call streams from its own daemon thread "snapshot-send", which waits while the
 * client's flow-control window is full (gRPC's readiness callbacks wake it), so a large store is
 * never held in memory; a cancelled call stops it.
 */
public final class SnapshotStreamer {
  private static final Logger log = LoggerFactory.getLogger(SnapshotStreamer.class);
  private static final int CHUNK = 64 * 1024;

  private final EtcdDbView db;
  private final Path scratch;
  private final AtomicLong sequence = new AtomicLong();

  /** @param scratch a directory for snapshot files being sent */
  public SnapshotStreamer(EtcdDbView db, Path scratch) {
    this.db = db;
    this.scratch = scratch;
    try {
      SnapshotFile.deleteTree(scratch); // files of a member killed while it sent them
    } catch (IOException e) {
      log.warn("cannot delete old snapshot files in {}: {}", scratch, e.toString());
    }
  }

  /** Starts sending; returns at once. Must be called from the gRPC method (it installs the handlers). */
  public void stream(ServerCallStreamObserver<SnapshotResponse> out) {
    ReentrantLock lock = new ReentrantLock();
    Condition ready = lock.newCondition();
    boolean[] cancelled = {false};
    Runnable wake = () -> {
      lock.lock();
      try {
        ready.signalAll();
      } finally {
        lock.unlock();
      }
    };
    out.setOnReadyHandler(wake);
    out.setOnCancelHandler(() -> {
      lock.lock();
      try {
        cancelled[0] = true;
        ready.signalAll();
      } finally {
        lock.unlock();
      }
    });
    Thread t = new Thread(() -> send(out, lock, ready, cancelled), "snapshot-send");
    t.setDaemon(true);
    t.start();
  }

  private void send(ServerCallStreamObserver<SnapshotResponse> out, ReentrantLock lock, Condition ready, boolean[] cancelled) {
    Path file = scratch.resolve("snapshot-" + ProcessHandle.current().pid() + "-" + sequence.incrementAndGet() + ".db");
    try {
      Files.createDirectories(scratch);
      SnapshotFile.deleteTree(file);
      long total;
      try (BoltWriter writer = BoltWriter.create(file)) {
        total = db.writeTo(writer);
      }
      MessageDigest sha = SnapshotFile.sha256();
      long sent = 0;
      try (InputStream in = Files.newInputStream(file)) {
        byte[] buf = new byte[CHUNK];
        while (sent < total) {
          int n = in.readNBytes(buf, 0, (int) Math.min(CHUNK, total - sent));
          if (n <= 0) {
            throw new IOException("the snapshot file " + file + " is shorter than written");
          }
          sha.update(buf, 0, n);
          sent += n;
          if (!awaitReady(out, lock, ready, cancelled)) {
            return;
          }
          out.onNext(SnapshotResponse.newBuilder().setRemainingBytes(total - sent).setBlob(ByteString.copyFrom(buf, 0, n)).build());
        }
      }
      if (!awaitReady(out, lock, ready, cancelled)) {
        return;
      }
      out.onNext(SnapshotResponse.newBuilder().setRemainingBytes(0).setBlob(ByteString.copyFrom(sha.digest())).build());
      out.onCompleted();
      log.info("sent a snapshot of {} bytes", total + SnapshotFile.SHA256_BYTES);
    } catch (IOException | RuntimeException e) {
      log.warn("sending a snapshot failed: {}", e.toString());
      try {
        out.onError(Status.INTERNAL.withDescription("etcetera: cannot send the snapshot: " + e.getMessage()).asRuntimeException());
      } catch (RuntimeException alreadyClosed) {
        // the call ended meanwhile
      }
    } finally {
      try {
        SnapshotFile.deleteTree(file);
      } catch (IOException e) {
        log.warn("cannot delete the snapshot file {}: {}", file, e.toString());
      }
    }
  }

  /** Waits until the call can take a message; false when it was cancelled. */
  private static boolean awaitReady(ServerCallStreamObserver<SnapshotResponse> out, ReentrantLock lock, Condition ready,
      boolean[] cancelled) {
    lock.lock();
    try {
      while (!cancelled[0] && !out.isReady()) {
        ready.await(1, java.util.concurrent.TimeUnit.SECONDS);
      }
      return !cancelled[0];
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      lock.unlock();
    }
  }
}
