package io.etcetera.raft.membership;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Member and cluster IDs derived as etcd derives them, so that the same flags give the same IDs:
 * member ID = first 8 bytes (big-endian) of SHA-1 over the member's sorted peer URLs concatenated
 * and the cluster token; cluster ID = the same over the sorted member IDs as 8-byte big-endian
 * words. (etcd mixes the time into the ID of a member added later; Etcetera does not, so that the
 * new member finds its own ID from its flags.) Stateless.
 */
public final class MemberIds {
  private MemberIds() {}

  public static long memberId(Collection<String> peerUrls, String token) {
    List<String> sorted = new ArrayList<>(peerUrls);
    sorted.sort(null);
    StringBuilder b = new StringBuilder();
    for (String u : sorted) {
      b.append(u);
    }
    b.append(token);
    return first8(sha1(b.toString().getBytes(StandardCharsets.UTF_8)));
  }

  public static long clusterId(Collection<Long> memberIds) {
    List<Long> sorted = new ArrayList<>(memberIds);
    sorted.sort(Long::compareUnsigned);
    ByteBuffer buf = ByteBuffer.allocate(8 * sorted.size());
    for (long id : sorted) {
      buf.putLong(id);
    }
    return first8(sha1(buf.array()));
  }

  private static byte[] sha1(byte[] in) {
    try {
      return MessageDigest.getInstance("SHA-1").digest(in);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long first8(byte[] h) {
    return ByteBuffer.wrap(h, 0, 8).getLong();
  }
}
