package io.etcetera.raft.local;

import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.mvcc.apply.Applier;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.RaftGateway;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write path of a one-member cluster: proposals are queued, and the apply thread takes them
 * in order, applies as many as are waiting into one {@link ApplyBatch}, makes the batch durable
 * with a single fsync (group commit: concurrent writers share it), and only then answers them.
 * Each proposal is one log index; the index is persisted in the same RocksDB write as its state.
 *
 * <p>Threading: {@link #propose} is called from any thread; everything else runs on the single
 * apply thread "apply", the only writer of the store.
 */
public final class SingleMemberLog implements RaftGateway {
  private static final Logger log = LoggerFactory.getLogger(SingleMemberLog.class);
  private static final int MAX_BATCH = 1024;
  private static final byte[] TERM_KEY = "raft_term".getBytes(java.nio.charset.StandardCharsets.UTF_8);

  private record Proposal(InternalRaftRequest request, CompletableFuture<Applied> result) {}

  private final MvccStore store;
  private final Applier applier;
  private final LinkedBlockingQueue<Proposal> queue = new LinkedBlockingQueue<>();
  private final Thread applyThread;
  private volatile boolean running = true;
  private volatile long appliedIndex;
  /** The term this member leads in: like etcd's lone member, it campaigns once per start. */
  private final long term;

  public SingleMemberLog(MvccStore store, Applier applier) {
    this.store = store;
    this.applier = applier;
    this.appliedIndex = store.appliedIndex();
    // a fresh member starts at term 1 and wins its first election at term 2; every restart
    // campaigns again, so the term grows by one per start, as etcd's does
    var backend = store.backend();
    long last = Math.max(1, Math.max(store.appliedTerm(),
        io.etcetera.mvcc.backend.MetaKeys.decode(backend.getMeta(TERM_KEY))));
    this.term = last + 1;
    try (org.rocksdb.WriteBatch b = new org.rocksdb.WriteBatch()) {
      b.put(backend.meta(), TERM_KEY, io.etcetera.mvcc.backend.MetaKeys.encode(term));
      backend.commit(b, true);
    } catch (org.rocksdb.RocksDBException e) {
      throw new io.etcetera.mvcc.backend.BackendException("cannot record the term", e);
    }
    this.applyThread = new Thread(this::applyLoop, "apply");
    this.applyThread.start();
  }

  @Override
  public CompletableFuture<Applied> propose(InternalRaftRequest request) {
    CompletableFuture<Applied> f = new CompletableFuture<>();
    if (!running) {
      f.completeExceptionally(io.etcetera.api.errors.EtcdError.STOPPED.exception());
      return f;
    }
    queue.add(new Proposal(request, f));
    return f;
  }

  private void applyLoop() {
    List<Proposal> taken = new ArrayList<>(MAX_BATCH);
    List<Object> results = new ArrayList<>(MAX_BATCH);
    long index = appliedIndex;
    while (running) {
      try {
        Proposal first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        taken.add(first);
        queue.drainTo(taken, MAX_BATCH - 1);
        try (ApplyBatch batch = new ApplyBatch()) {
          for (Proposal p : taken) {
            index++;
            try {
              results.add(applier.apply(batch, p.request(), index));
            } catch (EtcdException e) {
              results.add(e);
            }
          }
          batch.setApplied(index, term);
          store.commit(batch);
        }
        appliedIndex = index;
        for (int i = 0; i < taken.size(); i++) {
          Object r = results.get(i);
          if (r instanceof Applied a) {
            taken.get(i).result().complete(a);
          } else {
            taken.get(i).result().completeExceptionally((Throwable) r);
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (RuntimeException | Error e) {
        // the store may be half-written in memory: stop rather than serve a state we cannot vouch for
        log.error("apply failed; the member stops", e);
        for (Proposal p : taken) {
          p.result().completeExceptionally(e);
        }
        Runtime.getRuntime().halt(2);
      } finally {
        taken.clear();
        results.clear();
      }
    }
    for (Proposal p; (p = queue.poll()) != null; ) {
      p.result().completeExceptionally(io.etcetera.api.errors.EtcdError.STOPPED.exception());
    }
  }

  @Override
  public long term() {
    return term;
  }

  @Override
  public long appliedIndex() {
    return appliedIndex;
  }

  @Override
  public long committedIndex() {
    return appliedIndex;
  }

  @Override
  public void close() {
    running = false;
    try {
      applyThread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
