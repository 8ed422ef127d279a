package io.etcetera.microbench;

import io.etcetera.mvcc.Revision;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/** Encoding and decoding of the 17-byte revision keys that every row and every read touches. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RevisionKeyBench {
  private long main = 123_456_789L;
  private final byte[] key = new Revision(987_654_321L, 3).toKey(false);

  @Benchmark
  public byte[] encode() {
    return new Revision(main++, 0).toKey(false);
  }

  @Benchmark
  public Revision decode() {
    return Revision.fromKey(key);
  }
}
