package io.etcetera.server.cluster;

import io.etcetera.raft.membership.MemberIds;
import java.util.Collection;

/**
 * This member's ID, the cluster ID it was created with, its name, and the cluster token that names
 * its Raft group. Immutable. IDs are derived by {@link MemberIds}, as etcd's.
 */
public record MemberIdentity(long memberId, long clusterId, String name, String token) {

  public static long memberId(Collection<String> peerUrls, String token) {
    return MemberIds.memberId(peerUrls, token);
  }

  public static long clusterId(Collection<Long> memberIds) {
    return MemberIds.clusterId(memberIds);
  }

  /** etcd prints IDs as lowercase hex without leading zeros. */
  public static String hex(long id) {
    return Long.toHexString(id);
  }
}
