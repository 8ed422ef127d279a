package io.etcetera.e2e.crash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * A member killed with {@code kill -9} leaves nothing behind outside its data dir. RocksDB's own
 * loader copies its 15 MB native library into a new temporary file at every start and deletes it
 * only at a normal JVM exit, so each killed member used to leave a copy in {@code /tmp} (thousands
 * of them filled a disk). Etcetera loads one cached copy per user and library build instead: every
 * start maps the same file.
 */
class NativeLibraryLeakTest {

  /** The file RocksDB's library is mapped from in {@code pid}'s address space (Linux). */
  private static Path mappedRocksDbLibrary(long pid) throws IOException {
    List<String> maps = Files.readAllLines(Path.of("/proc/" + pid + "/maps"));
    return maps.stream()
        .filter(line -> line.contains("librocksdbjni"))
        .map(line -> line.substring(line.indexOf('/')))
        .map(Path::of)
        .findFirst()
        .orElse(null);
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void killedMembersReuseOneCachedCopyOfRocksDbsLibraryInsteadOfLeavingCopiesBehind(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    Path first;
    Object firstInode;
    try (Member m = Member.start(Binary.ETCETERA, work.resolve("m"), a)) {
      first = mappedRocksDbLibrary(m.pid());
      assertNotNull(first, "the member has RocksDB's library mapped");
      assertTrue(first.getParent().getParent().getFileName().toString().startsWith("etcetera-native-"),
          "the library is mapped from the per-user cache, not a temporary copy: " + first);
      firstInode = Files.getAttribute(first, "unix:ino");
      m.kill9();
    }
    assertTrue(Files.isRegularFile(first), "the cached copy stays for the next start");
    try (Member m = Member.start(Binary.ETCETERA, work.resolve("m"), a)) {
      Path again = mappedRocksDbLibrary(m.pid());
      assertEquals(first, again, "a restarted member maps the same cached copy");
      assertEquals(firstInode, Files.getAttribute(again, "unix:ino"), "the cached copy was not written again");
      m.kill9();
    }
    try (var siblings = Files.list(first.getParent())) {
      assertEquals(List.of(first), siblings.toList(), "no temporary copies beside the cached one");
    }
  }
}
