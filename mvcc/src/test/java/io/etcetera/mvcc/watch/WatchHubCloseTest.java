package io.etcetera.mvcc.watch;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.etcetera.mvcc.testutil.ApplyFixture;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shutting the hub down: the server closes the store and the RocksDB backend right after it. */
class WatchHubCloseTest {
  @TempDir
  Path dir;

  private static Thread syncThread(WatchHub hub) throws ReflectiveOperationException {
    var f = WatchHub.class.getDeclaredField("syncThread");
    f.setAccessible(true);
    return (Thread) f.get(hub);
  }

  @Test
  void closeReturnsOnlyOnceTheSyncThreadHasStopped() throws Exception {
    ApplyFixture fx = ApplyFixture.open(dir);
    Thread sync = syncThread(fx.hub());
    try {
      String value = "v".repeat(4096);
      for (int i = 0; i < 3000; i++) {
        fx.put("k" + (i % 50), value);
      }
      // many watchers catching up from the start, on streams that are read: the sync thread is busy
      // reading history from RocksDB
      Inbox[] streams = new Inbox[8];
      for (int s = 0; s < streams.length; s++) {
        streams[s] = new Inbox(fx.hub());
        for (int w = 0; w < 5; w++) {
          streams[s].watch("\0", "\0", 2 + s * 10 + w);
        }
      }
      Thread reader = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          for (Inbox in : streams) {
            in.stream.poll();
          }
        }
      });
      reader.start();
      Inbox.sleep(20); // usually still catching up here; either way close() must not return before the thread ends
      fx.hub().close();
      boolean alive = sync.isAlive();
      reader.interrupt();
      reader.join();
      // if close() returned with the thread still reading, the backend closed next is used after close
      assertFalse(alive, "WatchHub.close() returned while the watch-sync thread was still running");
    } finally {
      sync.join(10_000); // never close RocksDB under a running reader, whatever the outcome
      fx.close();
    }
  }
}
