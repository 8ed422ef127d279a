package io.etcetera.microbench;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.mvcc.kv.RangeQuery;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Range reads as kube-apiserver makes them, over {@code keys} keys under /registry/pods/: one key,
 * a page of 100 with the total count, and a count-only range.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class RangeScanBench {
  @Param({"10000"})
  public int keys;

  private StoreFixture fixture;
  private RangeRequest single;
  private RangeRequest page;
  private RangeRequest count;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    fixture = new StoreFixture();
    ByteString value = ByteString.copyFrom(new byte[256]);
    InternalRaftRequest[] batch = new InternalRaftRequest[100];
    for (int i = 0; i < keys; i += batch.length) {
      for (int j = 0; j < batch.length; j++) {
        batch[j] = StoreFixture.put(String.format("/registry/pods/ns/pod-%08d", i + j), value);
      }
      fixture.applyBatch(batch);
    }
    ByteString prefix = ByteString.copyFromUtf8("/registry/pods/");
    ByteString end = ByteString.copyFromUtf8("/registry/pods0");
    single = RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("/registry/pods/ns/pod-00005000")).build();
    page = RangeRequest.newBuilder().setKey(prefix).setRangeEnd(end).setLimit(100).build();
    count = RangeRequest.newBuilder().setKey(prefix).setRangeEnd(end).setCountOnly(true).build();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    fixture.close();
  }

  @Benchmark
  public RangeResponse singleKey() {
    return RangeQuery.execute(fixture.store::range, single);
  }

  @Benchmark
  public RangeResponse pageOf100WithCount() {
    return RangeQuery.execute(fixture.store::range, page);
  }

  @Benchmark
  public RangeResponse countOnly() {
    return RangeQuery.execute(fixture.store::range, count);
  }
}
