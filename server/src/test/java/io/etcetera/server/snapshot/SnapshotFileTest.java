package io.etcetera.server.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotFileTest {

  @TempDir Path tmp;

  /** A snapshot of {@code checkpoint}, written as the streamer sends it. */
  private Path snapshotOf(Path checkpoint) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = SnapshotFile.content(SnapshotFile.entries(checkpoint))) {
      in.transferTo(out);
    }
    byte[] body = out.toByteArray();
    byte[] sha = SnapshotFile.sha256().digest(body);
    Path file = tmp.resolve("snap.db");
    Files.write(file, body);
    Files.write(file, sha, java.nio.file.StandardOpenOption.APPEND);
    return file;
  }

  private Path checkpoint() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("checkpoint"));
    byte[] big = new byte[70_000];
    new Random(7).nextBytes(big);
    Files.write(dir.resolve("000009.sst"), big);
    Files.writeString(dir.resolve("CURRENT"), "MANIFEST-000005\n");
    Files.write(dir.resolve("empty.log"), new byte[0]);
    return dir;
  }

  @Test
  void aSnapshotHasEtcdctlsShapeAndUnpacksToTheSameFiles() throws IOException {
    Path checkpoint = checkpoint();
    Path file = snapshotOf(checkpoint);
    assertEquals(32, Files.size(file) % 512, "blocks of 512 bytes and a SHA-256, which etcdctl checks");

    SnapshotFile.Status status = SnapshotFile.unpack(file, tmp.resolve("out"), false);
    assertEquals(List.of("000009.sst", "CURRENT", "empty.log"), status.files());
    for (String name : status.files()) {
      assertArrayEquals(Files.readAllBytes(checkpoint.resolve(name)), Files.readAllBytes(tmp.resolve("out").resolve(name)));
    }
    assertEquals(status, SnapshotFile.status(file));
  }

  @Test
  void damagedCutShortForeignAndExistingTargetsAreRefusedWithoutLeavingADirectory() throws IOException {
    Path file = snapshotOf(checkpoint());
    byte[] bytes = Files.readAllBytes(file);

    byte[] flipped = bytes.clone();
    flipped[600] ^= 1;
    Path damaged = Files.write(tmp.resolve("damaged.db"), flipped);
    IOException e = assertThrows(IOException.class, () -> SnapshotFile.unpack(damaged, tmp.resolve("a"), false));
    assertTrue(e.getMessage().contains("does not match its SHA-256"), e.getMessage());
    assertFalse(Files.exists(tmp.resolve("a")));
    assertFalse(Files.exists(tmp.resolve("a.part")));
    SnapshotFile.unpack(damaged, tmp.resolve("forced"), true); // --skip-hash-check

    Path cut = Files.write(tmp.resolve("cut.db"), Arrays.copyOf(bytes, 512 + 32));
    e = assertThrows(IOException.class, () -> SnapshotFile.unpack(cut, tmp.resolve("b"), false));
    assertTrue(e.getMessage().contains("damaged") || e.getMessage().contains("cut short"), e.getMessage());
    assertFalse(Files.exists(tmp.resolve("b")));

    Path bolt = Files.write(tmp.resolve("bolt.db"), new byte[2 * 4096 + 32]); // etcd's bbolt shape
    e = assertThrows(IOException.class, () -> SnapshotFile.status(bolt));
    assertTrue(e.getMessage().contains("was not written by Etcetera"), e.getMessage());

    Path noHash = Files.write(tmp.resolve("nohash.db"), new byte[4096]);
    e = assertThrows(IOException.class, () -> SnapshotFile.status(noHash));
    assertTrue(e.getMessage().contains("no SHA-256"), e.getMessage());

    Files.createDirectories(tmp.resolve("taken"));
    e = assertThrows(IOException.class, () -> SnapshotFile.unpack(file, tmp.resolve("taken"), false));
    assertTrue(e.getMessage().contains("exists"), e.getMessage());
  }
}
