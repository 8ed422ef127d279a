package io.etcetera.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class MemberIdentityTest {
  @Test
  void defaultFlagsGiveEtcdsWellKnownIds() {
    long member = MemberIdentity.memberId(List.of("http://localhost:2380"), "etcd-cluster");
    assertEquals("8e9e05c52164694d", MemberIdentity.hex(member));
    assertEquals("cdf818194e3a8c32", MemberIdentity.hex(MemberIdentity.clusterId(List.of(member))));
  }

  @Test
  void idsMatchWhatRealEtcdDerivedForTheSameFlags() {
    // etcd 3.4.23: --name=single --initial-cluster=single=http://127.0.1.9:2380 --initial-cluster-token=tok-1
    long member = MemberIdentity.memberId(List.of("http://127.0.1.9:2380"), "tok-1");
    assertEquals(Long.parseUnsignedLong("12485863701408464648"), member);
    assertEquals(Long.parseUnsignedLong("12147604739248194615"), MemberIdentity.clusterId(List.of(member)));
  }

  @Test
  void peerUrlOrderDoesNotChangeTheMemberId() {
    assertEquals(MemberIdentity.memberId(List.of("http://a:2380", "http://b:2380"), "t"),
        MemberIdentity.memberId(List.of("http://b:2380", "http://a:2380"), "t"));
  }
}
