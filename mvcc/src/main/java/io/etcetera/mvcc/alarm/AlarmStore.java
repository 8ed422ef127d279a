package io.etcetera.mvcc.alarm;

import io.etcetera.api.etcdserverpb.AlarmMember;
import io.etcetera.api.etcdserverpb.AlarmRequest;
import io.etcetera.api.etcdserverpb.AlarmResponse;
import io.etcetera.api.etcdserverpb.AlarmType;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

/**
 * etcd's alarm store: which member raised which alarm ({@code NOSPACE}, {@code CORRUPT}). Alarms
 * change only by applying log entries (Maintenance.Alarm ACTIVATE / DEACTIVATE, all members alike),
 * persisted as {@code alarm/<member hex>/<type>} rows of the {@code meta} column family in the
 * entry's write batch. While a NOSPACE alarm is active the store is capped: puts, transactions that
 * put, and lease grants are refused at apply ({@link #capped()}), as etcd's capped applier does.
 *
 * <p>Threading: the apply thread is the only writer and reads its working set (so a later request
 * of the same entry sees an alarm an earlier one raised); other threads read {@link #active()}, an
 * immutable list replaced once the batch committed.
 */
public final class AlarmStore {
  private static final byte[] PREFIX = "alarm/".getBytes(StandardCharsets.UTF_8);
  private static final Comparator<AlarmMember> ORDER = Comparator
      .comparing(AlarmMember::getMemberID, Long::compareUnsigned)
      .thenComparingInt(AlarmMember::getAlarmValue);

  private final MvccStore store;
  /** Apply thread only. */
  private TreeSet<AlarmMember> working = new TreeSet<>(ORDER);
  private volatile List<AlarmMember> published = List.of();

  public AlarmStore(MvccStore store) {
    this.store = store;
    recover();
  }

  /** Reads the persisted alarms (at start, and after a snapshot replaced the store). */
  public void recover() {
    TreeSet<AlarmMember> loaded = new TreeSet<>(ORDER);
    store.backend().forEachMeta(PREFIX, (key, value) -> loaded.add(fromRowKey(key)));
    working = loaded;
    published = List.copyOf(loaded);
  }

  /** Apply thread: one Maintenance.Alarm entry. GET answers from the state this entry sees. */
  public AlarmResponse apply(ApplyBatch batch, AlarmRequest req) {
    AlarmResponse.Builder resp = AlarmResponse.newBuilder();
    AlarmMember m = AlarmMember.newBuilder().setMemberID(req.getMemberID()).setAlarm(req.getAlarm()).build();
    switch (req.getAction()) {
      case GET -> resp.addAllAlarms(of(working, req.getAlarm()));
      case ACTIVATE -> {
        // as etcd: raising an alarm that is already raised answers it again and changes nothing
        if (req.getAlarm() != AlarmType.NONE && working.add(m)) {
          store.stage(batch, store.backend().meta(), rowKey(m), new byte[0]);
          publishAfter(batch);
        }
        if (req.getAlarm() != AlarmType.NONE) {
          resp.addAlarms(m);
        }
      }
      case DEACTIVATE -> {
        if (working.remove(m)) {
          store.stage(batch, store.backend().meta(), rowKey(m), null);
          publishAfter(batch);
          resp.addAlarms(m);
        }
      }
      default -> { }
    }
    return resp.build();
  }

  /** Apply thread: whether a NOSPACE alarm caps writes. */
  public boolean capped() {
    for (AlarmMember m : working) {
      if (m.getAlarm() == AlarmType.NOSPACE) {
        return true;
      }
    }
    return false;
  }

  /** Any thread: the committed alarms, in member and type order. */
  public List<AlarmMember> active() {
    return published;
  }

  private void publishAfter(ApplyBatch batch) {
    List<AlarmMember> snapshot = List.copyOf(working);
    batch.afterCommit(() -> published = snapshot);
  }

  private static List<AlarmMember> of(TreeSet<AlarmMember> set, AlarmType type) {
    List<AlarmMember> out = new ArrayList<>();
    for (AlarmMember m : set) {
      if (type == AlarmType.NONE || m.getAlarm() == type) {
        out.add(m);
      }
    }
    return out;
  }

  /** Whether {@code metaKey} is an alarm row of the meta column family. */
  public static boolean isRowKey(byte[] metaKey) {
    return java.util.Arrays.equals(metaKey, 0, Math.min(metaKey.length, PREFIX.length), PREFIX, 0, PREFIX.length);
  }

  /** The alarm an alarm row stands for (its value is empty). */
  public static AlarmMember fromRowKey(byte[] key) {
    String[] parts = new String(key, PREFIX.length, key.length - PREFIX.length, StandardCharsets.UTF_8).split("/");
    return AlarmMember.newBuilder()
        .setMemberID(Long.parseUnsignedLong(parts[0], 16))
        .setAlarmValue(Integer.parseInt(parts[1]))
        .build();
  }

  /** The meta row key of an alarm (the row's value is empty). */
  public static byte[] rowKey(AlarmMember m) {
    return ("alarm/" + String.format("%016x", m.getMemberID()) + "/" + m.getAlarmValue()).getBytes(StandardCharsets.UTF_8);
  }
}
