package io.etcetera.microbench;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Durable puts per second when {@code batch} writes share one fsync'd RocksDB write, as the apply
 * thread batches concurrent proposals. Reported per put.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class GroupCommitBench {
  @Param({"1", "16", "128"})
  public int batch;

  private StoreFixture fixture;
  private InternalRaftRequest[] requests;
  private long seq;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    fixture = new StoreFixture();
    requests = new InternalRaftRequest[batch];
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    fixture.close();
  }

  @Benchmark
  @OperationsPerInvocation(128)
  public void durablePuts() {
    ByteString value = ByteString.copyFrom(new byte[256]);
    for (int done = 0; done < 128; done += batch) {
      for (int i = 0; i < batch; i++) {
        requests[i] = StoreFixture.put("key-" + (seq++ % 100_000), value);
      }
      fixture.applyBatch(requests);
    }
  }
}
