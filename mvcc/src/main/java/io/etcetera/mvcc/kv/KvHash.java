package io.etcetera.mvcc.kv;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.mvcc.Revision;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.index.KeyHistory;
import io.etcetera.mvcc.index.KeyIndex;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * etcd's HashKV: a CRC-32C (Castagnoli) over the bucket name {@code key} and then every stored
 * row (revision key, serialized KeyValue) up to a revision, skipping rows at or below the compacted
 * revision unless they are the newest live version of their key at that revision. Etcetera's rows
 * are etcd's bucket rows byte for byte (17-byte revision keys, {@code t} for tombstones, the
 * KeyValue message), so for the same history the hash equals etcd's: members, and an etcd and an
 * Etcetera member, can be compared with {@code etcdctl endpoint hashkv}.
 *
 * @param hash the CRC, as an unsigned 32-bit value
 * @param hashRevision the revision hashed (the current one when 0 was asked)
 */
public record KvHash(long hash, long currentRevision, long compactRevision, long hashRevision) {

  private static final byte[] BUCKET = "key".getBytes(StandardCharsets.UTF_8);

  /**
   * The hash at {@code rev} (0 = current). Reads a RocksDB snapshot; retried when a compaction
   * moved the compacted revision meanwhile. Any thread.
   */
  static KvHash of(MvccStore store, long rev) {
    while (true) {
      long compact = store.compactRevision();
      long current = store.currentRevision();
      if (rev > 0 && rev <= compact) {
        throw EtcdError.COMPACTED.exception();
      }
      if (rev > current) {
        throw EtcdError.FUTURE_REV.exception();
      }
      long at = rev == 0 ? current : rev;
      Set<Revision> keep = keptAt(store.index(), at);
      long hash = hashRows(store.backend(), at, compact, keep);
      if (store.compactRevision() == compact) {
        return new KvHash(hash, current, compact, at);
      }
    }
  }

  /** etcd's kvindex.Keep: the newest live revision of every key at {@code at}. */
  private static Set<Revision> keptAt(KeyIndex index, long at) {
    Set<Revision> keep = new HashSet<>();
    for (Map.Entry<byte[], KeyHistory> e : index.range(new byte[] {0}, new byte[] {0})) {
      Revision r = e.getValue().keptAt(at);
      if (r != null) {
        keep.add(r);
      }
    }
    return keep;
  }

  private static long hashRows(Backend backend, long at, long compact, Set<Revision> keep) {
    return backend.readKvSnapshot(it -> {
      CRC32C crc = new CRC32C();
      crc.update(BUCKET);
      for (it.seekToFirst(); it.isValid(); it.next()) {
        byte[] k = it.key();
        Revision r = Revision.fromKey(k);
        if (r.main() > at) {
          break; // rows are in revision order
        }
        if (r.main() <= compact && !keep.isEmpty() && !keep.contains(r)) {
          continue; // at or below the compaction and not kept: etcd skips it
        }
        crc.update(k);
        crc.update(it.value());
      }
      return crc.getValue();
    });
  }
}
