package io.etcetera.e2e.jetcd;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.lock.LockResponse;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * etcd's v3lock service through jetcd's Lock client, on real etcd 3.4.23 and Etcetera alike: the
 * first lease gets the lock at once under {@code name/<lease hex>}, a second waits until the first
 * unlocks, a revoked holder's lease frees the lock, an unknown lease is refused with etcd's error,
 * and a waiter that gives up leaves no key behind.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class JetcdLockTest {

  private static ByteSequence bs(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  @Test
  void leasesTakeTheLockInTurn(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    for (Binary binary : new Binary[] {Binary.ETCD, Binary.ETCETERA}) {
      String b = binary.name();
      try (Member m = Member.start(binary, work.resolve(b.toLowerCase()), Ports.allocate());
          Client c = Client.builder().endpoints(m.endpoint()).build()) {
        long a = c.getLeaseClient().grant(60).get(10, TimeUnit.SECONDS).getID();
        long l2 = c.getLeaseClient().grant(60).get(10, TimeUnit.SECONDS).getID();
        long l3 = c.getLeaseClient().grant(60).get(10, TimeUnit.SECONDS).getID();

        LockResponse first = c.getLockClient().lock(bs("jobs"), a).get(10, TimeUnit.SECONDS);
        assertEquals("jobs/" + Long.toHexString(a), first.getKey().toString(UTF_8), b);

        CompletableFuture<LockResponse> second = c.getLockClient().lock(bs("jobs"), l2);
        Thread.sleep(1000);
        assertFalse(second.isDone(), b + ": the second lease waits while the first holds the lock");
        c.getLockClient().unlock(first.getKey()).get(10, TimeUnit.SECONDS);
        LockResponse got = second.get(10, TimeUnit.SECONDS);
        assertEquals("jobs/" + Long.toHexString(l2), got.getKey().toString(UTF_8), b);
        assertTrue(got.getHeader().getRevision() > first.getHeader().getRevision(), b);

        CompletableFuture<LockResponse> third = c.getLockClient().lock(bs("jobs"), l3);
        Thread.sleep(500);
        assertFalse(third.isDone(), b);
        c.getLeaseClient().revoke(l2).get(10, TimeUnit.SECONDS);
        assertEquals("jobs/" + Long.toHexString(l3), third.get(10, TimeUnit.SECONDS).getKey().toString(UTF_8),
            b + ": a revoked holder frees the lock");

        ExecutionException unknown = assertThrows(ExecutionException.class,
            () -> c.getLockClient().lock(bs("jobs"), 0x1234567).get(10, TimeUnit.SECONDS));
        assertTrue(String.valueOf(unknown.getCause().getMessage()).contains("requested lease not found"),
            b + ": " + unknown.getCause());

        // a waiter whose call is cancelled leaves no ownership key behind
        long l4 = c.getLeaseClient().grant(60).get(10, TimeUnit.SECONDS).getID();
        try (Client quitter = Client.builder().endpoints(m.endpoint()).build()) {
          CompletableFuture<LockResponse> waiting = quitter.getLockClient().lock(bs("jobs"), l4);
          Thread.sleep(500);
          assertFalse(waiting.isDone(), b);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String keys;
        do {
          Thread.sleep(200);
          keys = Etcdctl.run(m.endpoint(), "get", "jobs/", "--prefix", "--keys-only").ok().trim();
        } while (keys.contains(Long.toHexString(l4)) && System.nanoTime() < deadline);
        assertEquals("jobs/" + Long.toHexString(l3), keys, b + ": only the holder's key is left");
      }
    }
  }
}
