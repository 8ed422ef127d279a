package io.etcetera.mvcc.snapshot;

import io.etcetera.mvcc.bolt.BoltReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * What {@code etcdctl snapshot status} reports of an etcd backend database, computed the same way:
 * a CRC-32C over every bucket's name followed by its keys and values, the main revision of the last
 * row of the {@code key} bucket, the number of rows of all buckets, and the database's size.
 */
public record EtcdDbStatus(long hash, long revision, long totalKey, long totalSize) {

  public static EtcdDbStatus of(BoltReader db) throws IOException {
    CRC32C crc = new CRC32C();
    long[] revision = {0};
    long[] rows = {0};
    for (byte[] bucket : db.bucketNames()) {
      crc.update(bucket);
      boolean keys = new String(bucket, StandardCharsets.UTF_8).equals("key");
      db.forEach(bucket, (k, v) -> {
        crc.update(k);
        crc.update(v);
        if (keys && k.length >= 8) {
          revision[0] = ByteBuffer.wrap(k).getLong();
        }
        rows[0]++;
      });
    }
    return new EtcdDbStatus(crc.getValue(), revision[0], rows[0], db.size());
  }
}
