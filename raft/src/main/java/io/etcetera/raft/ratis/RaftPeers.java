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

  static String address(String peerUrl) {
    URI u = URI.create(peerUrl);
    int port = u.getPort() > 0 ? u.getPort() : 2380;
    return u.getHost() + ":" + port;
  }
}
