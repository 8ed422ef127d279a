package io.etcetera.e2e.watch;

import static io.etcetera.e2e.watch.WatchRpc.bs;
import static io.etcetera.e2e.watch.WatchRpc.prefixEnd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * A watcher that stops reading must not cost the server unbounded memory, nor delay the other
 * watchers, nor lose or duplicate its own events.
 *
 * <p>One member; for Etcetera its heap is capped with {@code ETCETERA_JAVA_OPTS=}{@value
 * #HEAP_OPTS} (the shared harness passes no environment, so {@link ServerProcess} starts the
 * member itself with the harness's flags). On the prefix {@code /slow/}:
 *
 * <ul>
 *   <li>a slow watcher: a raw gRPC {@link ClientCall} that requests exactly one message (its
 *       created response) and then none, so grpc-java stops reading the stream and HTTP/2 flow
 *       control backs up into the server;
 *   <li>a normal watcher (ordinary auto-reading stub), on its own connection, measuring put -> event
 *       latency (from just before the put is sent to the event's arrival);
 *   <li>{@value #WRITERS} writers putting fresh keys with {@value #VALUE_BYTES}-byte values until
 *       {@value #TOTAL_MIB} MiB are written (or {@value #WRITE_LIMIT_MILLIS} ms passed);
 *   <li>a probe reading a key every 250 ms with a 5 s deadline.
 * </ul>
 *
 * Then it asserts: the server is alive, its log has no OutOfMemoryError, every probe succeeded;
 * the normal watcher received exactly every acknowledged put (revision, key, full value) in
 * revision order (its latency is printed for the record, not asserted: speed belongs to benchmarks); the server's anonymous RSS (/proc RssAnon, sampled every 250 ms) stays under
 * {@value #RSS_BOUND_MIB} MiB, and for Etcetera (a JVM started with {@value #HEAP_OPTS}, checked on
 * its command line) so does its peak RSS (/proc VmHWM; etcd is exempt from that one because bbolt
 * mmaps its 200+ MiB db file, whose pages count as RSS); for Etcetera the live heap after a full
 * GC (jcmd GC.run, GC.heap_info) while the slow watcher is still stalled, and after it caught up,
 * is reported. Then the slow watcher reads: it must receive every put exactly once, in revision
 * order, with its full value, and no cancel (it catches up from storage). Everything is measured
 * and printed for both servers ({@code -De2e.binary=etcd} for the reference).
 */
class SlowConsumerTest {

  private static final String HEAP_OPTS = "-Xmx256m";
  private static final String PREFIX = "/slow/";
  private static final int WRITERS = 2;
  private static final int VALUE_BYTES = 100 * 1024;
  private static final int TOTAL_MIB = 200;
  private static final long TOTAL_BYTES = TOTAL_MIB * 1024L * 1024L;
  private static final long MIN_BYTES = 64L * 1024 * 1024;
  private static final long WRITE_LIMIT_MILLIS = 40_000;
  private static final long NORMAL_DRAIN_MILLIS = 20_000;
  private static final long CATCH_UP_MILLIS = 30_000;
  private static final long RPC_DEADLINE_MILLIS = 10_000;
  private static final long RSS_BOUND_MIB = 1024;

  private static final byte[] NOISE = noise();

  private static byte[] noise() {
    byte[] b = new byte[2 * 1024 * 1024];
    new Random(42).nextBytes(b);
    return b;
  }

  /** The only value ever written to {@code key}: the key, then key-dependent noise, {@value #VALUE_BYTES} bytes. */
  static ByteString value(String key) {
    byte[] k = (key + "|").getBytes(StandardCharsets.UTF_8);
    int offset = Math.floorMod(key.hashCode() * 7919, NOISE.length - VALUE_BYTES);
    return ByteString.copyFrom(k).concat(ByteString.copyFrom(NOISE, offset, VALUE_BYTES - k.length));
  }

  record Ack(String key, long revision) {}

  /** What a watcher saw of one event (values are checked on arrival, not kept). */
  record Seen(long revision, String key, Event.EventType type, boolean valueOk, long version, long createRevision,
      long arrivalNanos) {}

  private final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS)
  void stalledWatcherKeepsMemoryBoundedOthersUnaffectedAndCatchesUpExactly(TestInfo info) throws Exception {
    long t0 = System.nanoTime();
    Binary binary = Binary.fromSystemProperty();
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    ExecutorService pool = Executors.newFixedThreadPool(WRITERS + 2, r -> {
      Thread t = new Thread(r, "slow-consumer-test");
      t.setDaemon(true);
      return t;
    });
    AtomicBoolean stop = new AtomicBoolean();
    ManagedChannel writeCh = null;
    ManagedChannel normalCh = null;
    ManagedChannel slowCh = null;
    ManagedChannel probeCh = null;
    try (ServerProcess server = ServerProcess.start(binary, work.resolve("member"), a,
        Map.of("ETCETERA_JAVA_OPTS", HEAP_OPTS))) {
      long pid = server.pid();
      if (binary == Binary.ETCETERA) {
        String cmdline = Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ');
        assertTrue(cmdline.contains(HEAP_OPTS) && cmdline.contains("io.etcetera.server.Main"),
            "the server process (pid " + pid + ") is not the JVM with " + HEAP_OPTS + ": " + cmdline);
      }
      writeCh = WatchRpc.channel(server.host(), server.port());
      normalCh = WatchRpc.channel(server.host(), server.port());
      probeCh = WatchRpc.channel(server.host(), server.port());
      // the stalled stream gets its own connection with a fixed 1 MiB window (no BDP auto-tuning)
      slowCh = NettyChannelBuilder.forAddress(server.host(), server.port()).usePlaintext()
          .initialFlowControlWindow(1024 * 1024).maxInboundMessageSize(1024 * 1024 * 1024).build();
      KVGrpc.KVBlockingStub probeKv = KVGrpc.newBlockingStub(probeCh);
      long startRevision = probeKv.withDeadlineAfter(RPC_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
          .range(RangeRequest.newBuilder().setKey(bs("/probe")).build()).getHeader().getRevision();
      WatchRequest create = WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
          .setKey(bs(PREFIX)).setRangeEnd(bs(prefixEnd(PREFIX))).setStartRevision(startRevision + 1)).build();

      // the slow watcher: one message requested (the created response), then nothing
      SlowWatcher slow = new SlowWatcher(slowCh.newCall(WatchGrpc.getWatchMethod(), CallOptions.DEFAULT));
      slow.start(create);
      assertTrue(slow.created.await(15, TimeUnit.SECONDS), "slow watcher not created: " + slow.describe());

      // the normal watcher
      NormalWatcher normal = new NormalWatcher();
      StreamObserver<WatchRequest> normalRequests = WatchGrpc.newStub(normalCh).watch(normal);
      normalRequests.onNext(create);
      assertTrue(normal.created.await(15, TimeUnit.SECONDS), "normal watcher not created: " + problems);

      // RSS sampler and probe
      AtomicLong maxAnonKb = new AtomicLong();
      AtomicLong probes = new AtomicLong();
      AtomicLong maxProbeMillis = new AtomicLong();
      Future<?> sampler = pool.submit(() -> {
        for (int i = 0; i < 10_000 && !stop.get(); i++) {
          long t = System.nanoTime();
          try {
            probeKv.withDeadlineAfter(5_000, TimeUnit.MILLISECONDS)
                .range(RangeRequest.newBuilder().setKey(bs("/probe")).build());
            probes.incrementAndGet();
            maxProbeMillis.accumulateAndGet(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t), Math::max);
          } catch (StatusRuntimeException e) {
            problems.add("probe read failed after " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t) + " ms: "
                + e.getStatus());
          }
          maxAnonKb.accumulateAndGet(procStatusKb(pid, "RssAnon"), Math::max);
          WatchRpc.sleep(250);
        }
        return null;
      });

      // writers: fresh keys, ~TOTAL_MIB MiB of values
      Map<String, Long> sentAt = new ConcurrentHashMap<>();
      ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
      AtomicLong bytesSent = new AtomicLong();
      long writeStart = System.nanoTime();
      long writeDeadline = writeStart + TimeUnit.MILLISECONDS.toNanos(WRITE_LIMIT_MILLIS);
      List<Future<?>> writers = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        final int writer = w;
        final KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(writeCh);
        writers.add(pool.submit(() -> {
          for (int seq = 0; seq < 100_000; seq++) {
            if (stop.get() || System.nanoTime() > writeDeadline
                || bytesSent.addAndGet(VALUE_BYTES) > TOTAL_BYTES) {
              return null;
            }
            String key = String.format("%sw%d/%06d", PREFIX, writer, seq);
            sentAt.put(key, System.nanoTime());
            try {
              PutResponse r = kv.withDeadlineAfter(RPC_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
                  .put(PutRequest.newBuilder().setKey(bs(key)).setValue(value(key)).build());
              acks.add(new Ack(key, r.getHeader().getRevision()));
            } catch (StatusRuntimeException e) {
              problems.add("put " + key + " failed: " + e.getStatus());
              stop.set(true);
              return null;
            }
          }
          return null;
        }));
      }
      for (Future<?> f : writers) f.get(WRITE_LIMIT_MILLIS + RPC_DEADLINE_MILLIS + 5_000, TimeUnit.MILLISECONDS);
      long writeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - writeStart);
      assertTrue(problems.isEmpty(), "during the writes: " + problems + "\n--- server log tail:\n" + server.logTail(40));

      List<Ack> acked = new ArrayList<>(acks);
      acked.sort((x, y) -> Long.compare(x.revision, y.revision));
      long writtenBytes = (long) acked.size() * VALUE_BYTES;
      for (int i = 0; i < acked.size(); i++) {
        assertEquals(startRevision + 1 + i, acked.get(i).revision, "acknowledged put revisions are not "
            + startRevision + "+1.." + (startRevision + acked.size()) + " (the prefix is only written by this test)");
      }
      assertTrue(writtenBytes >= MIN_BYTES, "only " + (writtenBytes >> 20) + " MiB written in " + writeMillis
          + " ms; the slow watcher was not put under enough pressure");

      // the normal watcher gets everything
      long drainDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NORMAL_DRAIN_MILLIS);
      while (normal.seen.size() < acked.size() && System.nanoTime() < drainDeadline && problems.isEmpty()) {
        Thread.sleep(20);
      }
      long rssAfterLoadKb = procStatusKb(pid, "VmRSS");
      long hwmAfterLoadKb = procStatusKb(pid, "VmHWM");
      long anonAfterLoadKb = maxAnonKb.get();
      String heapAfterLoad = binary == Binary.ETCETERA ? liveHeap(pid) : "n/a";
      checkSeen("normal watcher", normal.seen, acked);
      List<Long> latencies = new ArrayList<>();
      for (Seen s : normal.seen) {
        Long sent = sentAt.get(s.key);
        if (sent != null) latencies.add(TimeUnit.NANOSECONDS.toMillis(s.arrivalNanos - sent));
      }
      latencies.sort(null);
      long p50 = percentile(latencies, 50);
      long p99 = percentile(latencies, 99);
      long maxLatency = latencies.isEmpty() ? -1 : latencies.get(latencies.size() - 1);

      // the slow watcher has been stalled all along; now it reads
      assertEquals(1, slow.messages.get(), "the slow watcher received messages it did not request: "
          + slow.describe());
      assertTrue(server.isAlive(), "server died while the slow watcher was stalled\n" + server.logTail(60));
      long catchUpStart = System.nanoTime();
      slow.startReading();
      long catchUpDeadline = catchUpStart + TimeUnit.MILLISECONDS.toNanos(CATCH_UP_MILLIS);
      while (slow.seen.size() < acked.size() && System.nanoTime() < catchUpDeadline && problems.isEmpty()
          && slow.closed == null) {
        Thread.sleep(20);
      }
      long catchUpMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - catchUpStart);
      Thread.sleep(300); // duplicates would arrive now
      stop.set(true);
      sampler.get(10, TimeUnit.SECONDS);
      long hwmKb = procStatusKb(pid, "VmHWM");
      String heapAfterCatchUp = binary == Binary.ETCETERA ? liveHeap(pid) : "n/a";
      boolean oom = server.logText().contains("OutOfMemoryError");
      boolean alive = server.isAlive();

      System.out.printf("SlowConsumerTest [%s%s]: %d puts of %d KiB (%d MiB) in %d ms (%.1f MiB/s); normal watcher: "
              + "%d events, latency p50 %d ms, p99 %d ms, max %d ms; slow watcher caught up %d events in %d ms "
              + "(%d responses); server RSS: after load %d MiB, peak during load %d MiB, peak overall %d MiB (sampled "
              + "anonymous RSS peak: during load %d MiB, overall %d MiB); "
              + "live heap after full GC: stalled %s, after catch-up %s; %d probes, slowest %d ms; total %d ms%n",
          binary.name().toLowerCase(), binary == Binary.ETCETERA ? ", " + HEAP_OPTS : "", acked.size(),
          VALUE_BYTES / 1024, writtenBytes >> 20, writeMillis, (writtenBytes / 1048576.0) / (writeMillis / 1000.0),
          normal.seen.size(), p50, p99, maxLatency, slow.seen.size(), catchUpMillis, slow.messages.get() - 1,
          rssAfterLoadKb >> 10, hwmAfterLoadKb >> 10, hwmKb >> 10, anonAfterLoadKb >> 10, maxAnonKb.get() >> 10,
          heapAfterLoad, heapAfterCatchUp, probes.get(),
          maxProbeMillis.get(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));

      assertFalse(oom, "the server logged an OutOfMemoryError\n" + server.logTail(60));
      assertTrue(alive, "the server died\n" + server.logTail(60));
      assertTrue(problems.isEmpty(), problems + "\n--- server log tail:\n" + server.logTail(40));
      // the normal watcher's latency is printed above, not asserted: speed is for benchmarks, not tests
      assertTrue(maxAnonKb.get() < RSS_BOUND_MIB * 1024, "server's anonymous RSS reached " + (maxAnonKb.get() >> 10)
          + " MiB, above " + RSS_BOUND_MIB + " MiB");
      if (binary == Binary.ETCETERA) {
        // etcd is exempt: bbolt mmaps its (here 200+ MiB) db file, whose pages count in VmHWM
        assertTrue(hwmKb < RSS_BOUND_MIB * 1024, "server peak RSS (VmHWM) " + (hwmKb >> 10) + " MiB exceeds "
            + RSS_BOUND_MIB + " MiB with " + HEAP_OPTS);
      }
      assertTrue(slow.closed == null, "slow watcher's stream ended: " + slow.closed);
      checkSeen("slow watcher (after catching up)", slow.seen, acked);
      assertTrue(problems.isEmpty(), problems.toString());
      normalRequests.onCompleted();
      slow.call.cancel("test over", null);
    } finally {
      stop.set(true);
      pool.shutdownNow();
      WatchRpc.close(writeCh);
      WatchRpc.close(normalCh);
      WatchRpc.close(slowCh);
      WatchRpc.close(probeCh);
    }
  }

  /** Every acknowledged put exactly once, in revision order, as a creation with its full value. */
  private static void checkSeen(String who, List<Seen> seenList, List<Ack> acked) {
    List<Seen> seen;
    synchronized (seenList) {
      seen = new ArrayList<>(seenList);
    }
    for (int i = 0; i < Math.min(seen.size(), acked.size()); i++) {
      Seen s = seen.get(i);
      Ack x = acked.get(i);
      String ctx = who + ", event " + (i + 1) + " of " + acked.size() + ": ";
      assertEquals(x.revision + " " + x.key, s.revision + " " + s.key, ctx + "revision and key (in order, no gap, "
          + "no duplicate)");
      assertEquals(Event.EventType.PUT, s.type, ctx + "type");
      assertTrue(s.valueOk, ctx + "value of " + s.key + " is not the 100 KiB written");
      assertEquals(1, s.version, ctx + "version of fresh key " + s.key);
      assertEquals(s.revision, s.createRevision, ctx + "create revision of fresh key " + s.key);
    }
    assertEquals(acked.size(), seen.size(), who + " received " + seen.size() + " events for " + acked.size()
        + " acknowledged puts");
  }

  private static Seen seen(Event ev, long arrival) {
    String key = ev.getKv().getKey().toStringUtf8();
    return new Seen(ev.getKv().getModRevision(), key, ev.getType(), ev.getKv().getValue().equals(value(key)),
        ev.getKv().getVersion(), ev.getKv().getCreateRevision(), arrival);
  }

  private final class NormalWatcher implements StreamObserver<WatchResponse> {
    final CountDownLatch created = new CountDownLatch(1);
    final List<Seen> seen = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public void onNext(WatchResponse r) {
      long now = System.nanoTime();
      if (r.getCreated()) {
        created.countDown();
        return;
      }
      if (r.getCanceled()) problems.add("normal watcher canceled: " + r.getCancelReason() + " compact="
          + r.getCompactRevision());
      for (Event ev : r.getEventsList()) seen.add(seen(ev, now));
    }

    @Override
    public void onError(Throwable t) {
      problems.add("normal watcher's stream failed: " + Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      problems.add("normal watcher's stream ended by the server");
    }
  }

  /** Reads only what it requests: one message (created), then nothing until {@link #startReading()}. */
  private final class SlowWatcher extends ClientCall.Listener<WatchResponse> {
    final ClientCall<WatchRequest, WatchResponse> call;
    final CountDownLatch created = new CountDownLatch(1);
    final AtomicLong messages = new AtomicLong();
    final List<Seen> seen = java.util.Collections.synchronizedList(new ArrayList<>());
    volatile boolean reading;
    volatile Status closed;

    SlowWatcher(ClientCall<WatchRequest, WatchResponse> call) {
      this.call = call;
    }

    void start(WatchRequest create) {
      call.start(this, new Metadata());
      call.request(1);
      call.sendMessage(create);
    }

    void startReading() {
      reading = true;
      call.request(1);
    }

    @Override
    public void onMessage(WatchResponse r) {
      long n = messages.incrementAndGet();
      long now = System.nanoTime();
      if (n == 1) {
        if (!r.getCreated()) problems.add("slow watcher's first response is not the created one: " + r);
        created.countDown();
      } else {
        if (!reading) problems.add("slow watcher received a response it did not ask for");
        if (r.getCanceled() || r.getCreated()) {
          problems.add("slow watcher: unexpected response created=" + r.getCreated() + " canceled=" + r.getCanceled()
              + " compact=" + r.getCompactRevision() + " reason=" + r.getCancelReason());
        }
        for (Event ev : r.getEventsList()) seen.add(seen(ev, now));
      }
      if (reading) call.request(1);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      closed = status;
      created.countDown();
    }

    String describe() {
      return messages.get() + " messages, closed " + closed;
    }
  }

  private static long percentile(List<Long> sorted, int p) {
    if (sorted.isEmpty()) return -1;
    int idx = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, idx)));
  }

  /** A field of /proc/PID/status in kB (VmRSS, VmHWM), 0 if the process is gone. */
  private static long procStatusKb(long pid, String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
        }
      }
    } catch (IOException | RuntimeException e) {
      return 0;
    }
    return 0;
  }

  private static final Pattern HEAP_USED = Pattern.compile("heap\\s+total\\s+(\\d+)K, used (\\d+)K");

  /** The server JVM's heap used right after a full GC (jcmd GC.run; GC.heap_info), or why not. */
  private static String liveHeap(long pid) {
    String run = jcmd(pid, "GC.run");
    if (run == null) return "(jcmd failed)";
    String out = jcmd(pid, "GC.heap_info");
    if (out == null) return "(jcmd failed)";
    Matcher m = HEAP_USED.matcher(out);
    if (!m.find()) return "(unparsed: " + out.strip().replace('\n', ' ') + ")";
    return (Long.parseLong(m.group(2)) >> 10) + " MiB of " + (Long.parseLong(m.group(1)) >> 10) + " MiB committed";
  }

  private static String jcmd(long pid, String command) {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    if (!Files.isExecutable(jcmd)) jcmd = Path.of("/usr/bin/jcmd");
    try {
      Process p = new ProcessBuilder(Arrays.asList(jcmd.toString(), Long.toString(pid), command))
          .redirectErrorStream(true).start();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return null;
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return p.exitValue() == 0 ? out : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
