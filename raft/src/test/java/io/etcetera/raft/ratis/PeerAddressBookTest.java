package io.etcetera.raft.ratis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;

/** Ratis' channels to a member's logical address reach the host and port the book has for it now. */
class PeerAddressBookTest {

  private static String authorityOfAChannelTo(long memberId) {
    ManagedChannel ch = NettyChannelBuilder.forTarget(PeerAddressBook.logicalAddress(memberId)).usePlaintext().build();
    try {
      return ch.authority();
    } finally {
      ch.shutdownNow();
    }
  }

  @Test
  void aChannelToAMemberGoesToItsCurrentPeerAddressAndFollowsAMove() {
    long id = 0x7e57_0001_0000_0001L;
    assertFalse(PeerAddressBook.put(id, "127.0.1.3:2380"), "a first address is not a move");
    assertEquals("127.0.1.3:2380", authorityOfAChannelTo(id));
    assertFalse(PeerAddressBook.put(id, "127.0.1.3:2380"), "the same address again is not a move");
    assertTrue(PeerAddressBook.put(id, "127.0.1.3:12380"));
    assertEquals("127.0.1.3:12380", authorityOfAChannelTo(id), "a channel built after the move");
  }

  @Test
  void aChannelToAMemberNoTableNamesCannotResolve() {
    assertEquals("unknown-member.invalid", authorityOfAChannelTo(0x7e57_0002_0000_0002L));
  }
}
