package io.etcetera.server.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotFileTest {

  @TempDir Path tmp;

  /** A file shaped as etcd's snapshots: 4 KiB pages of "database", then their SHA-256. */
  private Path snapshot(String name, int pages) throws IOException {
    byte[] db = new byte[pages * 4096];
    new Random(pages).nextBytes(db);
    byte[] sha = SnapshotFile.sha256().digest(db);
    Path f = tmp.resolve(name);
    Files.write(f, db);
    Files.write(f, sha, java.nio.file.StandardOpenOption.APPEND);
    return f;
  }

  @Test
  void aSnapshotWithItsHashGivesTheDatabaseLength() throws IOException {
    Path f = snapshot("good", 3);
    assertEquals(3 * 4096, SnapshotFile.checkHash(f, false));
    assertEquals(3 * 4096, SnapshotFile.checkHash(f, true));
  }

  @Test
  void aDamagedSnapshotIsRefusedUnlessTheHashCheckIsSkipped() throws IOException {
    Path f = snapshot("damaged", 2);
    byte[] bytes = Files.readAllBytes(f);
    bytes[5000] ^= 1;
    Files.write(f, bytes);
    IOException e = assertThrows(IOException.class, () -> SnapshotFile.checkHash(f, false));
    assertTrue(e.getMessage().contains("does not match its SHA-256"), e.getMessage());
    assertEquals(2 * 4096, SnapshotFile.checkHash(f, true));
  }

  @Test
  void aFileWithoutHashIsRefusedWithEtcdctlsWordsUnlessSkipped() throws IOException {
    Path f = snapshot("nohash", 2);
    byte[] bytes = Files.readAllBytes(f);
    Files.write(f, Arrays.copyOf(bytes, 2 * 4096));
    IOException e = assertThrows(IOException.class, () -> SnapshotFile.checkHash(f, false));
    assertEquals("snapshot missing hash but --skip-hash-check=false", e.getMessage());
    assertEquals(2 * 4096, SnapshotFile.checkHash(f, true));
  }

  @Test
  void deleteTreeRemovesADirectoryAndIgnoresAMissingOne() throws IOException {
    Path d = tmp.resolve("d/e");
    Files.createDirectories(d);
    Files.writeString(d.resolve("f"), "x");
    SnapshotFile.deleteTree(tmp.resolve("d"));
    assertTrue(Files.notExists(tmp.resolve("d")));
    SnapshotFile.deleteTree(tmp.resolve("d"));
  }
}
