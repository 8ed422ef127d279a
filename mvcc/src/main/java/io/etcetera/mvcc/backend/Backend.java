package io.etcetera.mvcc.backend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The RocksDB database of one member. Column families: {@code kv} (revision → KeyValue rows) and
 * {@code meta} (applied index, current and compacted revisions) and {@code lease} (granted leases)
 * and {@code auth} (users, roles, enabled flag, auth revision). The Raft issue adds {@code members}.
 *
 * <p>Threading: RocksDB is thread-safe. By convention only the apply thread commits write batches
 * that change visible state; the compactor deletes rows below the compacted revision, which no
 * reader may ask for.
 */
public final class Backend implements AutoCloseable {
  static {
    RocksDbNativeLibrary.load();
  }

  private static final byte[] KV_CF = "kv".getBytes(StandardCharsets.UTF_8);
  private static final byte[] META_CF = "meta".getBytes(StandardCharsets.UTF_8);
  private static final byte[] LEASE_CF = "lease".getBytes(StandardCharsets.UTF_8);
  private static final byte[] AUTH_CF = "auth".getBytes(StandardCharsets.UTF_8);

  private final Path dir;
  private final RocksDB db;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final LRUCache cache;
  private final List<ColumnFamilyHandle> handles;
  private final ColumnFamilyHandle kv;
  private final ColumnFamilyHandle meta;
  private final ColumnFamilyHandle lease;
  private final ColumnFamilyHandle auth;
  private final DurationHistogram commitDurations = DurationHistogram.exponential(0.001, 2, 14);
  private final WriteOptions syncWrite;
  private final WriteOptions noSyncWrite;

  private final boolean fsync;

  private Backend(Path dir, boolean fsync) throws RocksDBException {
    this.dir = dir;
    this.fsync = fsync;
    this.cache = new LRUCache(256L << 20);
    this.dbOptions = new DBOptions()
        .setCreateIfMissing(true)
        .setCreateMissingColumnFamilies(true)
        .setMaxBackgroundJobs(2)
        .setKeepLogFileNum(3)
        .setInfoLogLevel(org.rocksdb.InfoLogLevel.WARN_LEVEL);
    this.cfOptions = new ColumnFamilyOptions()
        .setCompressionType(CompressionType.LZ4_COMPRESSION)
        .setWriteBufferSize(64L << 20)
        .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(cache));
    List<ColumnFamilyDescriptor> descriptors = List.of(
        new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
        new ColumnFamilyDescriptor(KV_CF, cfOptions),
        new ColumnFamilyDescriptor(META_CF, cfOptions),
        new ColumnFamilyDescriptor(LEASE_CF, cfOptions),
        new ColumnFamilyDescriptor(AUTH_CF, cfOptions));
    this.handles = new ArrayList<>();
    this.db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
    this.kv = handles.get(1);
    this.meta = handles.get(2);
    this.lease = handles.get(3);
    this.auth = handles.get(4);
    this.syncWrite = new WriteOptions().setSync(true);
    this.noSyncWrite = new WriteOptions();
  }

  public static Backend open(Path dir) {
    return open(dir, true);
  }

  /**
   * Opens (or creates) the database in {@code dir}. With {@code fsync} false (etcd's
   * {@code --unsafe-no-fsync}) durable commits skip the fsync: a machine crash may lose them.
   */
  public static Backend open(Path dir, boolean fsync) {
    try {
      Files.createDirectories(dir);
      return new Backend(dir, fsync);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RocksDBException e) {
      throw new BackendException("cannot open RocksDB at " + dir, e);
    }
  }

  public ColumnFamilyHandle kv() {
    return kv;
  }

  public ColumnFamilyHandle meta() {
    return meta;
  }

  /** Leases: 8-byte big-endian ID → 8-byte big-endian granted TTL (seconds). */
  public ColumnFamilyHandle lease() {
    return lease;
  }

  public RocksIterator leaseIterator() {
    return db.newIterator(lease);
  }

  /** Auth: "enabled", "revision", "user/NAME" → authpb.User, "role/NAME" → authpb.Role. */
  public ColumnFamilyHandle auth() {
    return auth;
  }

  public RocksIterator authIterator() {
    return db.newIterator(auth);
  }

  public RocksIterator metaIterator() {
    return db.newIterator(meta);
  }

  /** Calls {@code row} with the key and value of every meta row whose key starts with {@code prefix}, in key order. */
  public void forEachMeta(byte[] prefix, java.util.function.BiConsumer<byte[], byte[]> row) {
    try (RocksIterator it = metaIterator()) {
      for (it.seek(prefix); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (k.length < prefix.length || !java.util.Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length)) {
          break;
        }
        row.accept(k, it.value());
      }
    }
  }

  public byte[] getMeta(byte[] key) {
    try {
      return db.get(meta, key);
    } catch (RocksDBException e) {
      throw new BackendException("meta read failed", e);
    }
  }

  public byte[] getKv(byte[] revisionKey) {
    try {
      return db.get(kv, revisionKey);
    } catch (RocksDBException e) {
      throw new BackendException("kv read failed", e);
    }
  }

  /** Values of the given {@code kv} rows, in order; null where a row is missing. */
  public List<byte[]> multiGetKv(List<byte[]> revisionKeys) {
    if (revisionKeys.isEmpty()) {
      return List.of();
    }
    List<ColumnFamilyHandle> cfs = new ArrayList<>(revisionKeys.size());
    for (int i = 0; i < revisionKeys.size(); i++) {
      cfs.add(kv);
    }
    try {
      return db.multiGetAsList(cfs, revisionKeys);
    } catch (RocksDBException e) {
      throw new BackendException("kv multi-read failed", e);
    }
  }

  public RocksIterator kvIterator() {
    return db.newIterator(kv);
  }

  public RocksIterator kvIterator(ReadOptions options) {
    return db.newIterator(kv, options);
  }

  /** Runs {@code reader} over the kv rows as of one point in time (a RocksDB snapshot). */
  public <T> T readKvSnapshot(java.util.function.Function<RocksIterator, T> reader) {
    org.rocksdb.Snapshot snapshot = db.getSnapshot();
    try (ReadOptions options = new ReadOptions().setSnapshot(snapshot);
        RocksIterator it = db.newIterator(kv, options)) {
      return reader.apply(it);
    } finally {
      db.releaseSnapshot(snapshot);
    }
  }

  /** Iterators over every column family as of one point in time; valid only inside {@link #readSnapshot}. */
  public interface SnapshotRows {
    RocksIterator kv();

    RocksIterator meta();

    RocksIterator lease();

    RocksIterator auth();
  }

  /**
   * Runs {@code reader} over all rows (kv, meta, lease, auth) as of one point in time (a RocksDB
   * snapshot): the state after some whole applied entry. Any thread; the iterators it hands out
   * belong to the calling thread and are closed when {@code reader} returns.
   */
  public <T> T readSnapshot(java.util.function.Function<SnapshotRows, T> reader) {
    org.rocksdb.Snapshot snapshot = db.getSnapshot();
    List<RocksIterator> open = new ArrayList<>();
    try (ReadOptions options = new ReadOptions().setSnapshot(snapshot)) {
      java.util.function.Function<ColumnFamilyHandle, RocksIterator> iterator = cf -> {
        RocksIterator it = db.newIterator(cf, options);
        open.add(it);
        return it;
      };
      return reader.apply(new SnapshotRows() {
        @Override
        public RocksIterator kv() {
          return iterator.apply(kv);
        }

        @Override
        public RocksIterator meta() {
          return iterator.apply(meta);
        }

        @Override
        public RocksIterator lease() {
          return iterator.apply(lease);
        }

        @Override
        public RocksIterator auth() {
          return iterator.apply(auth);
        }
      });
    } finally {
      open.forEach(RocksIterator::close);
      db.releaseSnapshot(snapshot);
    }
  }

  /** Writes a batch atomically; with {@code sync} it is on disk (fsync of the WAL) on return. */
  public void commit(WriteBatch batch, boolean sync) {
    long start = System.nanoTime();
    try {
      db.write(sync && fsync ? syncWrite : noSyncWrite, batch);
    } catch (RocksDBException e) {
      throw new BackendException("commit failed", e);
    }
    commitDurations.record(System.nanoTime() - start);
  }

  /**
   * How long commits took: etcd's {@code etcd_disk_backend_commit_duration_seconds} (its buckets:
   * 1 ms doubling 14 times).
   */
  public DurationHistogram commitDurations() {
    return commitDurations;
  }

  /** Bytes the database occupies on disk (SST files, WAL, manifest). */
  public long sizeOnDisk() {
    try (Stream<Path> files = Files.list(dir)) {
      return files.mapToLong(p -> {
        try {
          return Files.isRegularFile(p) ? Files.size(p) : 0;
        } catch (IOException e) {
          return 0; // a file removed by a concurrent compaction
        }
      }).sum();
    } catch (IOException e) {
      return 0;
    }
  }

  /** Estimated bytes of live data (what a defragmentation would keep). */
  public long sizeInUse() {
    try {
      long live = 0;
      for (ColumnFamilyHandle h : List.of(kv, meta, lease, auth)) {
        live += db.getLongProperty(h, "rocksdb.estimate-live-data-size");
        live += db.getLongProperty(h, "rocksdb.cur-size-all-mem-tables");
      }
      return live;
    } catch (RocksDBException e) {
      return sizeOnDisk();
    }
  }

  /** Compacts the whole key space: RocksDB's counterpart of etcd's defragmentation. */
  public void compactRange() {
    try {
      db.compactRange(kv);
      db.compactRange(meta);
      db.compactRange(lease);
      db.compactRange(auth);
    } catch (RocksDBException e) {
      throw new BackendException("compaction failed", e);
    }
  }

  /** Makes every write so far durable (fsync of the WAL), whatever the commits' sync option was. */
  public void syncWal() {
    try {
      db.syncWal();
    } catch (RocksDBException e) {
      throw new BackendException("cannot sync the write-ahead log", e);
    }
  }

  /**
   * Makes everything written so far durable (memtables flushed, WAL synced), then writes a
   * consistent copy of the database to the new directory {@code target} (hard links where
   * possible): a Raft snapshot. Writer thread only, so the copy reflects one applied index.
   */
  public void checkpoint(Path target) {
    try (org.rocksdb.FlushOptions flush = new org.rocksdb.FlushOptions().setWaitForFlush(true);
        org.rocksdb.Checkpoint cp = org.rocksdb.Checkpoint.create(db)) {
      db.flush(flush, handles);
      db.syncWal();
      cp.createCheckpoint(target.toString());
    } catch (RocksDBException e) {
      throw new BackendException("cannot create a checkpoint in " + target, e);
    }
  }

  /** Bytes of rows written per batch while a snapshot is loaded. */
  static final long SNAPSHOT_CHUNK_BYTES = 8L << 20;

  /**
   * Replaces the whole content of this database by the content of the checkpoint in {@code
   * source} (a snapshot installed from the leader), in batches of bounded size, so that memory
   * does not grow with the database. Writer thread only.
   *
   * <p>Crash safety: the applied index ({@code consistent_index}, {@code consistent_term}) is
   * removed first, in a synced write, and the snapshot's {@code meta} rows, which carry its applied
   * index, are written last, in a synced write. A crash in between leaves a store without an
   * applied index, which a restart fills again from the snapshot (still in Ratis' storage) before
   * serving. Readers: the snapshot's rows are written over ours first (a row of a revision holds
   * the same data on every member), then ours that the snapshot does not hold are deleted, so a
   * reader using the index from before the load meets missing rows only for revisions the
   * snapshot compacted, as with a single batch, until the store reloads its index.
   */
  public void replaceContentWith(Path source) {
    replaceContentWith(source, SNAPSHOT_CHUNK_BYTES);
  }

  void replaceContentWith(Path source, long chunkBytes) {
    replaceContentWith(source, chunkBytes, () -> {});
  }

  /** As {@link #replaceContentWith(Path)}; {@code afterEachChunk} runs after each unsynced batch (tests: a crash there). */
  void replaceContentWith(Path source, long chunkBytes, Runnable afterEachChunk) {
    List<ColumnFamilyDescriptor> descriptors = List.of(
        new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
        new ColumnFamilyDescriptor(KV_CF, cfOptions),
        new ColumnFamilyDescriptor(META_CF, cfOptions),
        new ColumnFamilyDescriptor(LEASE_CF, cfOptions),
        new ColumnFamilyDescriptor(AUTH_CF, cfOptions));
    List<ColumnFamilyHandle> theirs = new ArrayList<>();
    try (DBOptions ro = new DBOptions();
        RocksDB other = RocksDB.openReadOnly(ro, source.toString(), descriptors, theirs)) {
      try {
        try (org.rocksdb.WriteBatch forget = new org.rocksdb.WriteBatch()) {
          forget.delete(meta, MetaKeys.CONSISTENT_INDEX);
          forget.delete(meta, MetaKeys.CONSISTENT_TERM);
          db.write(syncWrite, forget);
        }
        int metaAt = handles.indexOf(meta);
        for (int i = 1; i < handles.size(); i++) {
          if (i != metaAt) {
            replaceFamily(other, theirs.get(i), handles.get(i), chunkBytes, afterEachChunk);
          }
        }
        // the meta rows, with the snapshot's applied index, last and in one batch (a few rows)
        try (org.rocksdb.WriteBatch last = new org.rocksdb.WriteBatch()) {
          try (RocksIterator it = db.newIterator(meta)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
              last.delete(meta, it.key());
            }
          }
          try (RocksIterator it = other.newIterator(theirs.get(metaAt))) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
              last.put(meta, it.key(), it.value());
            }
          }
          db.write(syncWrite, last);
        }
      } finally {
        for (ColumnFamilyHandle h : theirs) {
          h.close();
        }
      }
    } catch (RocksDBException e) {
      throw new BackendException("cannot load the snapshot in " + source, e);
    }
  }

  /** One column family: the snapshot's rows written over ours, then ours it lacks deleted. */
  private void replaceFamily(RocksDB other, ColumnFamilyHandle from, ColumnFamilyHandle to, long chunkBytes,
      Runnable afterEachChunk) throws RocksDBException {
    try (ChunkedWrites writes = new ChunkedWrites(chunkBytes, afterEachChunk)) {
      try (RocksIterator it = other.newIterator(from)) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          writes.put(to, it.key(), it.value());
        }
      }
      // both in RocksDB's bytewise key order: walk them side by side
      try (RocksIterator ours = db.newIterator(to); RocksIterator snap = other.newIterator(from)) {
        snap.seekToFirst();
        for (ours.seekToFirst(); ours.isValid(); ours.next()) {
          byte[] key = ours.key();
          while (snap.isValid() && java.util.Arrays.compareUnsigned(snap.key(), key) < 0) {
            snap.next();
          }
          if (!snap.isValid() || !java.util.Arrays.equals(snap.key(), key)) {
            writes.delete(to, key);
          }
        }
      }
      writes.flush();
    }
  }

  /** Unsynced writes in batches of about {@code chunkBytes} (a later synced write makes them durable). */
  private final class ChunkedWrites implements AutoCloseable {
    private final org.rocksdb.WriteBatch batch = new org.rocksdb.WriteBatch();
    private final long chunkBytes;
    private final Runnable afterEachChunk;

    ChunkedWrites(long chunkBytes, Runnable afterEachChunk) {
      this.chunkBytes = chunkBytes;
      this.afterEachChunk = afterEachChunk;
    }

    void put(ColumnFamilyHandle cf, byte[] key, byte[] value) throws RocksDBException {
      batch.put(cf, key, value);
      flushIfFull();
    }

    void delete(ColumnFamilyHandle cf, byte[] key) throws RocksDBException {
      batch.delete(cf, key);
      flushIfFull();
    }

    private void flushIfFull() throws RocksDBException {
      if (batch.getDataSize() >= chunkBytes) {
        flush();
      }
    }

    void flush() throws RocksDBException {
      if (batch.count() > 0) {
        db.write(noSyncWrite, batch);
        batch.clear();
        afterEachChunk.run();
      }
    }

    @Override
    public void close() {
      batch.close();
    }
  }

  @Override
  public void close() {
    try {
      db.flushWal(true);
    } catch (RocksDBException ignored) {
      // closing anyway; the WAL was synced on every acknowledged commit
    }
    for (ColumnFamilyHandle h : handles) {
      h.close();
    }
    db.close();
    syncWrite.close();
    noSyncWrite.close();
    cfOptions.close();
    dbOptions.close();
    cache.close();
  }
}
