package io.etcetera.server.snapshot;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads the entries of an etcd write-ahead log ({@code member/wal/*.wal}) far enough to tell
 * whether it holds writes that its backend database lacks. Etcetera does not replay etcd's log:
 * a data dir is imported only when every normal entry with data is already in the database.
 *
 * <p>Format (etcd's wal package): records framed by a little-endian 64-bit length word (the low
 * 56 bits the length; with the top bit set, bits 56-58 give the padding after it); a record is a
 * {@code walpb.Record} (type = 1, crc = 2, data = 3) and an entry record (type 2) holds a
 * {@code raftpb.Entry} (Type = 1, Term = 2, Index = 3, Data = 4). A zero length word ends a file
 * (its preallocated tail). Stateless.
 */
final class EtcdWal {
  private static final int ENTRY_RECORD = 2;
  private static final int NORMAL_ENTRY = 0;

  private EtcdWal() {}

  /**
   * The normal entries with data (writes) an etcd log holds: all of them, and those past {@code
   * appliedIndex}. A log that {@code etcdctl snapshot restore} wrote holds none (only the new
   * members' configuration changes).
   */
  record Writes(long total, long afterApplied) {}

  static Writes writes(Path walDir, long appliedIndex) throws IOException {
    if (!Files.isDirectory(walDir)) {
      return new Writes(0, 0);
    }
    List<Path> files;
    try (Stream<Path> list = Files.list(walDir)) {
      files = list.filter(p -> p.getFileName().toString().endsWith(".wal")).sorted().toList();
    }
    long total = 0;
    long after = 0;
    for (Path f : files) {
      try (InputStream raw = Files.newInputStream(f);
          DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16))) {
        while (true) {
          long word;
          try {
            word = Long.reverseBytes(in.readLong());
          } catch (EOFException end) {
            break;
          }
          if (word == 0) {
            break;
          }
          long length = word & 0x00FF_FFFF_FFFF_FFFFL;
          int padding = word < 0 ? (int) ((word >>> 56) & 0x7) : 0;
          if (length > Integer.MAX_VALUE - 8) {
            throw new IOException("etcd WAL " + f + " is damaged (record of " + length + " bytes)");
          }
          byte[] record = new byte[(int) length + padding];
          try {
            in.readFully(record);
          } catch (EOFException torn) {
            break; // a torn last record: etcd drops it too
          }
          long index = writeIndex(CodedInputStream.newInstance(record, 0, (int) length));
          if (index >= 0) {
            total++;
            if (index > appliedIndex) {
              after++;
            }
          }
        }
      }
    }
    return new Writes(total, after);
  }

  /** The index of the entry {@code record} holds if it is a write, else -1. */
  private static long writeIndex(CodedInputStream record) throws IOException {
    long type = -1;
    ByteString data = ByteString.EMPTY;
    for (int tag = record.readTag(); tag != 0; tag = record.readTag()) {
      switch (tag >>> 3) {
        case 1 -> type = record.readInt64();
        case 3 -> data = record.readBytes();
        default -> record.skipField(tag);
      }
    }
    if (type != ENTRY_RECORD) {
      return -1;
    }
    CodedInputStream entry = data.newCodedInput();
    long entryType = NORMAL_ENTRY;
    long index = 0;
    boolean hasData = false;
    for (int tag = entry.readTag(); tag != 0; tag = entry.readTag()) {
      switch (tag >>> 3) {
        case 1 -> entryType = entry.readInt32();
        case 3 -> index = entry.readUInt64();
        case 4 -> hasData = !entry.readBytes().isEmpty();
        default -> entry.skipField(tag);
      }
    }
    return entryType == NORMAL_ENTRY && hasData ? index : -1;
  }
}
