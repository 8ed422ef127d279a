package io.etcetera.mvcc.snapshot;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import java.io.IOException;

/**
 * The value of a row of etcd's {@code lease} bucket: a {@code leasepb.Lease} message (ID = 1,
 * TTL = 2, RemainingTTL = 3, all int64), encoded and decoded by hand (the message is etcd's
 * internal storage format, not part of the gRPC API). Immutable helpers.
 */
final class EtcdLeaseRow {
  private EtcdLeaseRow() {}

  /** A lease's ID and granted TTL in seconds. */
  record Lease(long id, long ttl) {}

  static byte[] encode(long id, long ttl) {
    try {
      byte[] out = new byte[CodedOutputStream.computeInt64Size(1, id) + CodedOutputStream.computeInt64Size(2, ttl)];
      CodedOutputStream o = CodedOutputStream.newInstance(out);
      if (id != 0) {
        o.writeInt64(1, id);
      }
      if (ttl != 0) {
        o.writeInt64(2, ttl);
      }
      o.flush();
      return java.util.Arrays.copyOf(out, out.length - o.spaceLeft());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static Lease decode(byte[] value) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(value);
    long id = 0;
    long ttl = 0;
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        return new Lease(id, ttl);
      }
      switch (tag) {
        case 1 << 3 -> id = in.readInt64();
        case 2 << 3 -> ttl = in.readInt64();
        default -> in.skipField(tag);
      }
    }
  }
}
