package io.etcetera.raft.ratis;

import io.etcetera.api.etcdserverpb.Member;
import java.net.URI;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;

/** The mapping between etcd members and Ratis peers: the peer ID is the member ID in hex. */
final class RaftPeers {
  private RaftPeers() {}

  static RaftPeerId peerId(long memberId) {
    return RaftPeerId.valueOf(Long.toHexString(memberId));
  }

  static long memberId(RaftPeerId peer) {
    return Long.parseUnsignedLong(peer.toString(), 16);
  }

  /**
   * The Ratis peer of {@code m}, reached at the host and port of its first peer URL through a
   * logical address that stays the same when {@code member update} moves it ({@link PeerAddressBook}).
   */
  static RaftPeer peer(Member m) {
    return RaftPeer.newBuilder().setId(peerId(m.getID())).setAddress(PeerAddressBook.logicalAddress(m.getID())).build();
  }

  /**
   * Records in the {@link PeerAddressBook} where {@code m} is reached (its first peer URL; a member
   * without one is left out).
   *
   * @return whether that moved it (it was known at another address)
   */
  static boolean recordAddress(Member m) {
    return m.getPeerURLsCount() > 0 && PeerAddressBook.put(m.getID(), address(m.getPeerURLs(0)));
  }

  static String address(String peerUrl) {
    URI u = URI.create(peerUrl);
    int port = u.getPort() > 0 ? u.getPort() : 2380;
    return u.getHost() + ":" + port;
  }
}
