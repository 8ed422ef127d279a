package io.etcetera.mvcc.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksDB;
import org.rocksdb.util.Environment;

class RocksDbNativeLibraryTest {

  @TempDir Path tmp;

  private static byte[] libraryInJar() throws Exception {
    try (InputStream in = RocksDB.class.getClassLoader().getResourceAsStream(Environment.getJniLibraryFileName("rocksdb"))) {
      assertNotNull(in, "this platform's library is in the rocksdbjni jar");
      return in.readAllBytes();
    }
  }

  private static List<Path> filesUnder(Path dir) throws Exception {
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(Files::isRegularFile).toList();
    }
  }

  @Test
  void theLibraryIsCopiedOnceIntoAnOwnerOnlyDirectoryAndReusedByLaterStarts() throws Exception {
    Path first = RocksDbNativeLibrary.cachedCopyDir(tmp);
    assertNotNull(first);
    Path copy = first.resolve(Environment.getJniLibraryFileName("rocksdbjni"));
    assertArrayEquals(libraryInJar(), Files.readAllBytes(copy));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(first.getParent())));

    FileTime written = FileTime.fromMillis(1_000_000L);
    Files.setLastModifiedTime(copy, written);
    for (int start = 0; start < 3; start++) {
      assertEquals(first, RocksDbNativeLibrary.cachedCopyDir(tmp));
    }
    assertEquals(written, Files.getLastModifiedTime(copy), "an intact copy is not written again");
    assertEquals(List.of(copy), filesUnder(tmp), "no temporary files are left behind");
  }

  @Test
  void aDamagedCopyIsReplacedBeforeUse() throws Exception {
    Path dir = RocksDbNativeLibrary.cachedCopyDir(tmp);
    Path copy = dir.resolve(Environment.getJniLibraryFileName("rocksdbjni"));
    byte[] damaged = Files.readAllBytes(copy);
    damaged[damaged.length / 2] ^= 0x5a;
    Files.write(copy, damaged);

    assertEquals(dir, RocksDbNativeLibrary.cachedCopyDir(tmp));
    assertArrayEquals(libraryInJar(), Files.readAllBytes(copy));

    Files.write(copy, new byte[] {1, 2, 3}); // truncated, as by a full disk
    RocksDbNativeLibrary.cachedCopyDir(tmp);
    assertArrayEquals(libraryInJar(), Files.readAllBytes(copy));
  }

  @Test
  void aCacheDirectoryOthersMayWriteIsNotUsed() throws Exception {
    Path shared = Files.createDirectory(tmp.resolve("etcetera-native-" + System.getProperty("user.name")));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));

    assertNull(RocksDbNativeLibrary.cachedCopyDir(tmp));
    assertTrue(filesUnder(tmp).isEmpty(), "nothing is written into a directory others could have planted");
  }
}
