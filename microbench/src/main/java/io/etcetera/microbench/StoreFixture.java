package io.etcetera.microbench;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.mvcc.apply.KvApplier;
import io.etcetera.mvcc.apply.LeaseLookup;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** A store in a temporary directory, driven the way the apply thread drives it. */
final class StoreFixture implements AutoCloseable {
  final Path dir;
  final Backend backend;
  final MvccStore store;
  final KvApplier applier;
  private long index;

  StoreFixture() throws IOException {
    dir = Files.createTempDirectory("etcetera-jmh");
    backend = Backend.open(dir);
    store = MvccStore.open(backend);
    applier = new KvApplier(store, LeaseLookup.NONE);
  }

  static InternalRaftRequest put(String key, ByteString value) {
    return InternalRaftRequest.newBuilder()
        .setPut(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).setValue(value))
        .build();
  }

  /** Applies {@code requests} as one group-committed batch (one fsync). */
  void applyBatch(InternalRaftRequest... requests) {
    try (ApplyBatch batch = new ApplyBatch()) {
      for (InternalRaftRequest r : requests) {
        applier.apply(batch, r);
        index++;
      }
      batch.setApplied(index, 1);
      store.commit(batch);
    }
  }

  @Override
  public void close() throws IOException {
    store.close();
    backend.close();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
