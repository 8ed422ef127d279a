package io.etcetera.mvcc.kv;

import io.etcetera.mvcc.Revision;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.backend.MetaKeys;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes, after a compaction at revision R, every row at or below R that no read can reach: all
 * but the newest live revision of each key ({@code keep}). Runs in chunks on its own thread so
 * that a large compaction never stalls the apply thread; the last chunk records R as finished,
 * and a restart resumes an unfinished one.
 *
 * <p>Threading: one daemon thread; compactions run in the order they were scheduled. It touches
 * only rows below the compacted revision, which readers are refused, so it needs no lock.
 */
final class Compactor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Compactor.class);
  private static final int CHUNK = 10_000;

  private final Backend backend;
  private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "mvcc-compactor");
    t.setDaemon(true);
    return t;
  });

  Compactor(Backend backend) {
    this.backend = backend;
  }

  CompletableFuture<Void> schedule(long rev, Set<Revision> keep) {
    return CompletableFuture.runAsync(() -> run(rev, keep), thread);
  }

  private void run(long rev, Set<Revision> keep) {
    long deleted = 0;
    byte[] end = Revision.startKey(rev + 1);
    try (RocksIterator it = backend.kvIterator()) {
      WriteBatch batch = new WriteBatch();
      try {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          byte[] k = it.key();
          if (java.util.Arrays.compareUnsigned(k, 0, Revision.KEY_LENGTH, end, 0, Revision.KEY_LENGTH) >= 0) {
            break;
          }
          if (!keep.contains(Revision.fromKey(k))) {
            batch.delete(backend.kv(), k);
            deleted++;
            if (batch.count() >= CHUNK) {
              backend.commit(batch, false);
              batch.close();
              batch = new WriteBatch();
            }
          }
        }
        batch.put(backend.meta(), MetaKeys.FINISHED_COMPACT, MetaKeys.encode(rev));
        backend.commit(batch, true);
      } finally {
        batch.close();
      }
    } catch (RocksDBException e) {
      throw new io.etcetera.mvcc.backend.BackendException("compaction at " + rev + " failed", e);
    }
    log.info("finished compaction at revision {}: {} rows deleted", rev, deleted);
  }

  @Override
  public void close() {
    thread.shutdown();
    try {
      thread.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
