package io.etcetera.server.snapshot;

import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.bolt.BoltReader;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.snapshot.EtcdDbImport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Makes a member's store ({@code member/kv}) from etcd's backend database: a snapshot file, or the
 * {@code member/snap/db} of a data dir that {@code etcdctl snapshot restore} (or etcd) made. The
 * store is built beside its place, opened once to check it, and only then renamed into place, so
 * a failure leaves no half store behind. The store has no membership and no applied index: the
 * member starts a new cluster around the keyspace.
 */
public final class EtcdDbRestore {
  private EtcdDbRestore() {}

  /** Loads {@code db} into the new store directory {@code kvDir}; returns what was loaded. */
  public static EtcdDbImport.Summary into(Path db, Path kvDir) throws IOException {
    if (Files.exists(kvDir)) {
      throw new IOException("\"" + kvDir + "\" exists");
    }
    Path partial = kvDir.resolveSibling(kvDir.getFileName() + ".part");
    SnapshotFile.deleteTree(partial);
    try {
      EtcdDbImport.Summary summary;
      try (BoltReader reader = BoltReader.open(db); Backend backend = Backend.open(partial)) {
        summary = EtcdDbImport.load(reader, backend);
      }
      try (Backend backend = Backend.open(partial); MvccStore store = MvccStore.open(backend)) {
        if (store.currentRevision() != summary.revision()) {
          throw new IOException("the restored store is at revision " + store.currentRevision() + ", not "
              + summary.revision());
        }
      } catch (RuntimeException e) {
        throw new IOException("the database's rows are not etcd's: " + e.getMessage(), e);
      }
      Files.move(partial, kvDir);
      return summary;
    } finally {
      SnapshotFile.deleteTree(partial);
    }
  }
}
