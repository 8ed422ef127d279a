package io.etcetera.mvcc.backend;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import org.rocksdb.RocksDB;
import org.rocksdb.util.Environment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads RocksDB's native library from one cached copy per user and library build, instead of
 * RocksDB's default of copying the 15 MB library out of its jar into a new temporary file on every
 * start. RocksDB deletes that copy only at a normal JVM exit, so every member that is killed
 * ({@code kill -9}, an OOM kill, a power cut) left one behind in {@code java.io.tmpdir}: thousands of
 * them filled a disk.
 *
 * <p>The copy lives in {@code <java.io.tmpdir>/etcetera-native-<user>/} (created owner-only; not used
 * when it belongs to someone else or others may write to it) under a name that carries the jar
 * entry's size and CRC, so a new rocksdbjni version gets its own file. It is written to a temporary
 * file and renamed into place atomically, so members starting together never load a half-written
 * library, and it is checked against the CRC before use. Anything unexpected falls back to RocksDB's
 * own loader (the old behaviour), so the member still starts.
 *
 * <p>Threading: {@link #load()} is idempotent and runs once per JVM from {@link Backend}'s static
 * initializer.
 */
public final class RocksDbNativeLibrary {

  private static final Logger LOG = LoggerFactory.getLogger(RocksDbNativeLibrary.class);

  private RocksDbNativeLibrary() {}

  /** Loads the library, from the per-user cached copy when possible. */
  public static void load() {
    try {
      Path dir = cachedCopyDir(Path.of(System.getProperty("java.io.tmpdir")));
      if (dir != null) {
        RocksDB.loadLibrary(List.of(dir.toString()));
        return;
      }
    } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
      LOG.warn("loading RocksDB's library from the cached copy failed, extracting a temporary copy: {}", e.toString());
    }
    RocksDB.loadLibrary();
  }

  /**
   * The directory holding a verified copy of this platform's library under the file name
   * {@link RocksDB#loadLibrary(List)} looks for, made under {@code tmpRoot} when missing or damaged;
   * null when there is none to use (no such library in the jar, or no safe cache directory).
   */
  static Path cachedCopyDir(Path tmpRoot) throws IOException {
    String resource = Environment.getJniLibraryFileName("rocksdb");
    URL url = RocksDB.class.getClassLoader().getResource(resource);
    if (url == null) return null;
    Fingerprint expected = Fingerprint.of(url);
    Path dir = privateCacheDir(tmpRoot);
    if (dir == null) return null;
    // RocksDB.loadLibrary(paths) loads "<dir>/" + getJniLibraryFileName("rocksdbjni"), which differs
    // from the jar entry's name; the copy is kept under the name it asks for.
    String loadedName = Environment.getJniLibraryFileName("rocksdbjni");
    Path versionDir = dir.resolve("rocksdbjni-" + expected.size + "-" + Long.toHexString(expected.crc));
    Path target = versionDir.resolve(loadedName);
    if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) && expected.matches(target)) return versionDir;
    Files.createDirectories(versionDir);
    Path temp = Files.createTempFile(versionDir, loadedName, ".part");
    try {
      try (InputStream in = url.openStream()) {
        Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
      }
      if (!expected.matches(temp)) throw new IOException("the copied library does not match the jar entry");
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        // another member finished first (or the file system renames differently): use its copy
        if (!expected.matches(target)) throw new IOException("another copy of the library does not match the jar entry", e);
      }
    } finally {
      Files.deleteIfExists(temp);
    }
    return versionDir;
  }

  /** {@code <tmpdir>/etcetera-native-<user>}, owner-only; null when it is not ours alone. */
  private static Path privateCacheDir(Path tmpRoot) throws IOException {
    String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
    Path dir = tmpRoot.resolve("etcetera-native-" + user);
    boolean posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      try {
        if (posix) {
          Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } else {
          Files.createDirectory(dir);
        }
      } catch (FileAlreadyExistsException raced) {
        // created by a member starting at the same time; checked below
      }
    }
    if (!posix) return Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) ? dir : null;
    PosixFileAttributes attrs = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    Set<PosixFilePermission> perms = attrs.permissions();
    boolean ours = attrs.isDirectory()
        && attrs.owner().getName().equals(System.getProperty("user.name"))
        && !perms.contains(PosixFilePermission.GROUP_WRITE)
        && !perms.contains(PosixFilePermission.OTHERS_WRITE);
    if (!ours) {
      LOG.warn("not caching RocksDB's library in {}: it is not a directory owned and writable only by {}",
          dir, System.getProperty("user.name"));
      return null;
    }
    return dir;
  }

  /** Size and CRC-32 of the library inside the jar (read from the jar's directory when possible). */
  private record Fingerprint(long size, long crc) {

    static Fingerprint of(URL url) throws IOException {
      URLConnection connection = url.openConnection();
      if (connection instanceof JarURLConnection jar) {
        jar.setUseCaches(false);
        try (JarFile file = jar.getJarFile()) {
          ZipEntry entry = file.getEntry(jar.getEntryName());
          if (entry != null && entry.getSize() >= 0 && entry.getCrc() >= 0) {
            return new Fingerprint(entry.getSize(), entry.getCrc());
          }
        }
      }
      try (InputStream in = url.openStream()) {
        return digest(in);
      }
    }

    boolean matches(Path file) throws IOException {
      if (Files.size(file) != size) return false;
      try (InputStream in = Files.newInputStream(file)) {
        return digest(in).equals(this);
      }
    }

    private static Fingerprint digest(InputStream in) throws IOException {
      CRC32 crc = new CRC32();
      byte[] buf = new byte[1 << 16];
      long size = 0;
      for (int n; (n = in.read(buf)) > 0; ) {
        crc.update(buf, 0, n);
        size += n;
      }
      return new Fingerprint(size, crc.getValue());
    }
  }
}
