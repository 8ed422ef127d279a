package io.etcetera.mvcc.auth;

import com.google.protobuf.ByteString;
import io.etcetera.api.authpb.Permission;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The key ranges one user may read and write, merged from all their roles' permissions, as etcd's
 * range permission cache: a request on one key is allowed when some permission covers the key; a
 * request on a range when the union of the permissions covers the whole range. A permission on a
 * single key k is the interval [k, k+"\0"); a range end of "\0" means every key from k on.
 * Immutable.
 */
public final class RangePermissions {
  private static final Comparator<ByteString> ORDER = ByteString.unsignedLexicographicalComparator();
  /** Stands for "no end": the interval reaches past every key. */
  private static final ByteString INFINITY = null;

  private record Interval(ByteString begin, ByteString end) {}

  private final List<Interval> read;
  private final List<Interval> write;

  private RangePermissions(List<Interval> read, List<Interval> write) {
    this.read = read;
    this.write = write;
  }

  public static RangePermissions of(List<Permission> perms) {
    List<Interval> r = new ArrayList<>();
    List<Interval> w = new ArrayList<>();
    for (Permission p : perms) {
      Interval iv = interval(p.getKey(), p.getRangeEnd());
      if (p.getPermType() == Permission.Type.READ || p.getPermType() == Permission.Type.READWRITE) {
        r.add(iv);
      }
      if (p.getPermType() == Permission.Type.WRITE || p.getPermType() == Permission.Type.READWRITE) {
        w.add(iv);
      }
    }
    return new RangePermissions(merge(r), merge(w));
  }

  private static Interval interval(ByteString key, ByteString end) {
    if (end.isEmpty()) {
      return new Interval(key, key.concat(ByteString.copyFrom(new byte[] {0})));
    }
    if (end.size() == 1 && end.byteAt(0) == 0) {
      return new Interval(key, INFINITY);
    }
    return new Interval(key, end);
  }

  private static int compareEnd(ByteString a, ByteString b) {
    if (a == INFINITY) {
      return b == INFINITY ? 0 : 1;
    }
    return b == INFINITY ? -1 : ORDER.compare(a, b);
  }

  private static List<Interval> merge(List<Interval> in) {
    List<Interval> sorted = new ArrayList<>();
    for (Interval i : in) {
      if (i.end() == INFINITY || ORDER.compare(i.begin(), i.end()) < 0) {
        sorted.add(i);
      }
    }
    sorted.sort((a, b) -> ORDER.compare(a.begin(), b.begin()));
    List<Interval> out = new ArrayList<>();
    for (Interval i : sorted) {
      if (!out.isEmpty()) {
        Interval last = out.get(out.size() - 1);
        if (last.end() == INFINITY || ORDER.compare(i.begin(), last.end()) <= 0) {
          if (compareEnd(i.end(), last.end()) > 0) {
            out.set(out.size() - 1, new Interval(last.begin(), i.end()));
          }
          continue;
        }
      }
      out.add(i);
    }
    return List.copyOf(out);
  }

  public boolean canRead(ByteString key, ByteString rangeEnd) {
    return covers(read, key, rangeEnd);
  }

  public boolean canWrite(ByteString key, ByteString rangeEnd) {
    return covers(write, key, rangeEnd);
  }

  private static boolean covers(List<Interval> set, ByteString key, ByteString rangeEnd) {
    Interval want = interval(key, rangeEnd);
    for (Interval i : set) {
      if (ORDER.compare(i.begin(), want.begin()) <= 0) {
        if (compareEnd(want.end(), i.end()) <= 0) {
          return true;
        }
      } else {
        break;
      }
    }
    return false;
  }
}
