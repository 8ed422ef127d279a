package io.etcetera.e2e.jetcd;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Election;
import io.etcd.jetcd.election.CampaignResponse;
import io.etcd.jetcd.election.LeaderKey;
import io.etcd.jetcd.election.LeaderResponse;
import io.etcd.jetcd.election.NoLeaderException;
import io.etcd.jetcd.election.NotLeaderException;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * etcd's v3election service through jetcd's Election client, on real etcd 3.4.23 and Etcetera
 * alike: no leader at first, a campaign wins at once under {@code name/<lease hex>}, proclaim
 * changes the value, a second campaign waits until the leader resigns, a stale leader key can no
 * longer proclaim, and an observer sees every leader value in order.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class JetcdElectionTest {

  private static ByteSequence bs(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  private static String value(LeaderResponse r) {
    return r.getKv().getValue().toString(UTF_8);
  }

  @Test
  void campaignsProclaimsResignsAndObservesAsEtcd(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    for (Binary binary : new Binary[] {Binary.ETCD, Binary.ETCETERA}) {
      String b = binary.name();
      try (Member m = Member.start(binary, work.resolve(b.toLowerCase()), Ports.allocate());
          Client c = Client.builder().endpoints(m.endpoint()).build()) {
        Election election = c.getElectionClient();
        ByteSequence name = bs("svc");
        ExecutionException none = assertThrows(ExecutionException.class, () -> election.leader(name).get(10, TimeUnit.SECONDS));
        assertInstanceOf(NoLeaderException.class, none.getCause(), b + ": " + none.getCause());

        List<String> observed = new CopyOnWriteArrayList<>();
        election.observe(name, new Election.Listener() {
          @Override
          public void onNext(LeaderResponse r) {
            observed.add(value(r));
          }

          @Override
          public void onError(Throwable t) {
            observed.add("error: " + t);
          }

          @Override
          public void onCompleted() {}
        });
        Thread.sleep(500);

        long a = c.getLeaseClient().grant(60).get(10, TimeUnit.SECONDS).getID();
        long l2 = c.getLeaseClient().grant(60).get(10, TimeUnit.SECONDS).getID();
        LeaderKey first = election.campaign(name, a, bs("a1")).get(10, TimeUnit.SECONDS).getLeader();
        assertEquals("svc/" + Long.toHexString(a), first.getKey().toString(UTF_8), b);
        assertEquals(a, first.getLease(), b);
        assertEquals("a1", value(election.leader(name).get(10, TimeUnit.SECONDS)), b);
        election.proclaim(first, bs("a2")).get(10, TimeUnit.SECONDS);
        assertEquals("a2", value(election.leader(name).get(10, TimeUnit.SECONDS)), b);

        CompletableFuture<CampaignResponse> second = election.campaign(name, l2, bs("b1"));
        Thread.sleep(1000);
        assertFalse(second.isDone(), b + ": the second candidate waits while the first leads");
        election.resign(first).get(10, TimeUnit.SECONDS);
        LeaderKey next = second.get(10, TimeUnit.SECONDS).getLeader();
        assertEquals("svc/" + Long.toHexString(l2), next.getKey().toString(UTF_8), b);
        assertEquals("b1", value(election.leader(name).get(10, TimeUnit.SECONDS)), b);

        ExecutionException stale = assertThrows(ExecutionException.class,
            () -> election.proclaim(first, bs("late")).get(10, TimeUnit.SECONDS));
        assertInstanceOf(NotLeaderException.class, stale.getCause(), b + ": " + stale.getCause());

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (observed.size() < 3 && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        assertEquals(List.of("a1", "a2", "b1"), observed, b + ": the observer saw every leader value in order");
      }
    }
  }
}
