package io.etcetera.mvcc.auth;

import static io.etcetera.mvcc.auth.AuthRig.perm;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcetera.api.authpb.Permission;
import io.etcetera.api.authpb.Permission.Type;
import java.util.List;
import org.junit.jupiter.api.Test;

/** etcd's range permission cache semantics (auth/range_perm_cache.go, pkg/adt BytesAffine intervals). */
class RangePermissionsTest {
  private static ByteString b(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static ByteString raw(int... bytes) {
    byte[] out = new byte[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      out[i] = (byte) bytes[i];
    }
    return ByteString.copyFrom(out);
  }

  private static RangePermissions of(Permission... ps) {
    return RangePermissions.of(List.of(ps));
  }

  private static boolean read(RangePermissions p, String key, String end) {
    return p.canRead(b(key), b(end));
  }

  private static boolean write(RangePermissions p, String key, String end) {
    return p.canWrite(b(key), b(end));
  }

  @Test
  void nothingGrantedNothingAllowed() {
    RangePermissions p = of();
    assertFalse(read(p, "a", ""));
    assertFalse(write(p, "a", ""));
    assertFalse(read(p, "a", "b"));
    assertFalse(read(p, "\0", "\0"));
  }

  @Test
  void singleKey() {
    RangePermissions p = of(perm(Type.READ, "foo", ""));
    assertTrue(read(p, "foo", ""));
    assertTrue(read(p, "foo", "foo\0"), "the range holding just the key");
    assertFalse(read(p, "fo", ""));
    assertFalse(read(p, "foo\0", ""));
    assertFalse(read(p, "foo/a", ""));
    assertFalse(read(p, "foo", "fop"), "a range beyond the key");
    assertFalse(read(p, "foo", "\0"));
  }

  @Test
  void prefix() {
    RangePermissions p = of(perm(Type.READ, "foo", "fop")); // prefix "foo": range_end = prefix + 1
    assertTrue(read(p, "foo", ""));
    assertTrue(read(p, "foo/bar", ""));
    assertTrue(read(p, "fooz", ""));
    assertTrue(read(p, "foo", "fop"));
    assertTrue(read(p, "foo/a", "foo/z"));
    assertTrue(read(p, "foo/", "foo0"));
    assertFalse(read(p, "fop", ""));
    assertFalse(read(p, "fo", ""));
    assertFalse(read(p, "fon", "foo/"), "starts before the prefix");
    assertFalse(read(p, "foo", "fop\0"), "ends past the prefix");
    assertFalse(read(p, "foo", "\0"), "from-key is wider than a prefix");
  }

  @Test
  void fromKey() {
    RangePermissions p = of(perm(Type.READWRITE, "m", "\0"));
    assertTrue(read(p, "m", ""));
    assertTrue(write(p, "zzzz", ""));
    assertTrue(write(p, "\u007f\u007f", ""));
    assertTrue(p.canWrite(raw(0xff, 0xff), b("")), "unsigned order: 0xff is past every letter");
    assertTrue(read(p, "m", "\0"));
    assertTrue(read(p, "n", "\0"));
    assertTrue(read(p, "m", "z"));
    assertFalse(read(p, "l", ""));
    assertFalse(read(p, "l", "\0"));
    assertFalse(read(p, "a", "n"));
  }

  @Test
  void everyKeyFromTheZeroByte() {
    RangePermissions p = of(perm(Type.READ, "\0", "\0"));
    assertTrue(read(p, "\0", "\0"), "etcdctl get --prefix '' / --from-key ''");
    assertTrue(read(p, "a", ""));
    assertTrue(read(p, "a", "b"));
  }

  @Test
  void unionOfRolesCoversARangeOnlyTogether() {
    Permission left = perm(Type.READ, "a", "m");
    Permission right = perm(Type.READ, "m", "t");
    assertFalse(read(of(left), "c", "p"));
    assertFalse(read(of(right), "c", "p"));
    RangePermissions both = of(right, left); // order of roles does not matter
    assertTrue(read(both, "c", "p"));
    assertTrue(read(both, "a", "t"));
    assertFalse(read(both, "a", "t\0"));
    // overlapping intervals merge too
    RangePermissions overlap = of(perm(Type.READ, "a", "f"), perm(Type.READ, "c", "k"), perm(Type.READ, "j", "l"));
    assertTrue(read(overlap, "b", "l"));
    // a gap keeps them apart
    RangePermissions gap = of(perm(Type.READ, "a", "m"), perm(Type.READ, "n", "t"));
    assertFalse(read(gap, "c", "p"));
    assertFalse(read(gap, "m", ""));
    assertTrue(read(gap, "n", ""));
    // a point glued to a range: [a, a\0) + [a\0, b) = [a, b)
    RangePermissions glued = of(perm(Type.READ, "a", ""), perm(Type.READ, "a\0", "b"));
    assertTrue(read(glued, "a", "b"));
    // a nested interval inside a wider one changes nothing
    RangePermissions nested = of(perm(Type.READ, "a", "z"), perm(Type.READ, "c", "d"));
    assertTrue(read(nested, "b", "y"));
    // from-key swallows what follows
    RangePermissions open = of(perm(Type.READ, "c", "\0"), perm(Type.READ, "a", "d"), perm(Type.READ, "x", "y"));
    assertTrue(read(open, "a", "\0"));
  }

  @Test
  void readWriteAndReadwriteAreSeparate() {
    RangePermissions p = of(perm(Type.READ, "r", ""), perm(Type.WRITE, "w", ""), perm(Type.READWRITE, "rw", ""));
    assertTrue(read(p, "r", ""));
    assertFalse(write(p, "r", ""));
    assertTrue(write(p, "w", ""));
    assertFalse(read(p, "w", ""));
    assertTrue(read(p, "rw", ""));
    assertTrue(write(p, "rw", ""));
    // READ on one half and WRITE on the other never make a READWRITE range
    RangePermissions halves = of(perm(Type.READ, "a", "m"), perm(Type.WRITE, "m", "z"));
    assertFalse(read(halves, "a", "z"));
    assertFalse(write(halves, "a", "z"));
    // READ + WRITE on the same range grant both
    RangePermissions same = of(perm(Type.READ, "a", "m"), perm(Type.WRITE, "a", "m"));
    assertTrue(read(same, "b", "c"));
    assertTrue(write(same, "b", "c"));
  }

  @Test
  void emptyAndInvertedPermissionsGrantNothing() {
    RangePermissions p = of(perm(Type.READWRITE, "k", "k"), perm(Type.READWRITE, "z", "a"));
    assertFalse(read(p, "k", ""));
    assertFalse(write(p, "m", ""));
    assertFalse(read(p, "z", ""));
    assertFalse(read(p, "a", ""));
    assertFalse(read(p, "b", "c"));
  }

  @Test
  void binaryKeysCompareUnsigned() {
    RangePermissions p = RangePermissions.of(List.of(Permission.newBuilder().setPermType(Type.READ)
        .setKey(raw(0x80)).setRangeEnd(raw(0x90)).build()));
    assertTrue(p.canRead(raw(0x85, 0x01), ByteString.EMPTY));
    assertTrue(p.canRead(raw(0x80), raw(0x90)));
    assertFalse(p.canRead(raw(0x10), ByteString.EMPTY));
    assertFalse(p.canRead(raw(0x7f), ByteString.EMPTY));
    assertFalse(p.canRead(raw(0x90), ByteString.EMPTY));
    assertFalse(p.canRead(raw(0x7f), raw(0x85)));
  }
}
