package io.etcetera.mvcc.backend;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Keys of the {@code meta} column family and their 8-byte big-endian values. */
public final class MetaKeys {
  /** Index of the last applied log entry; changes in the same batch as the state it produced. */
  public static final byte[] CONSISTENT_INDEX = bytes("consistent_index");
  /** Term of the last applied log entry. */
  public static final byte[] CONSISTENT_TERM = bytes("consistent_term");
  /** The store's current main revision. */
  public static final byte[] CURRENT_REVISION = bytes("current_rev");
  /** The revision of the last compaction requested (index already compacted at apply). */
  public static final byte[] SCHEDULED_COMPACT = bytes("scheduledCompactRev");
  /** The revision of the last compaction whose rows are all deleted. */
  public static final byte[] FINISHED_COMPACT = bytes("finishedCompactRev");

  private MetaKeys() {}

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  public static byte[] encode(long v) {
    return ByteBuffer.allocate(8).putLong(v).array();
  }

  public static long decode(byte[] b) {
    return b == null ? 0 : ByteBuffer.wrap(b).getLong();
  }
}
