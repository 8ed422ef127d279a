package io.etcetera.mvcc.alarm;

import static io.etcetera.mvcc.testutil.ApplyFixture.grantReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.putReq;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.etcdserverpb.AlarmMember;
import io.etcetera.api.etcdserverpb.AlarmRequest;
import io.etcetera.api.etcdserverpb.AlarmResponse;
import io.etcetera.api.etcdserverpb.AlarmType;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.mvcc.testutil.ApplyFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AlarmApplyTest {
  private static final long MEMBER = 0x8e9e05c52164694dL;

  @TempDir Path dir;
  ApplyFixture fx;

  @BeforeEach
  void open() {
    fx = ApplyFixture.openWithoutHub(dir);
  }

  @AfterEach
  void close() {
    fx.close();
  }

  private AlarmResponse alarm(AlarmRequest.AlarmAction action, long member, AlarmType type) {
    return (AlarmResponse) fx.apply(InternalRaftRequest.newBuilder()
        .setAlarm(AlarmRequest.newBuilder().setAction(action).setMemberID(member).setAlarm(type)).build()).response();
  }

  private static AlarmMember member(long id, AlarmType type) {
    return AlarmMember.newBuilder().setMemberID(id).setAlarm(type).build();
  }

  private void assertNoSpace(InternalRaftRequest req) {
    EtcdException e = assertThrows(EtcdException.class, () -> fx.apply(req));
    assertEquals(EtcdError.NO_SPACE, e.error());
  }

  @Test
  void aRaisedNospaceAlarmRefusesWhatGrowsTheStoreUntilItIsDisarmed() {
    fx.put("k", "v");
    assertEquals(List.of(member(MEMBER, AlarmType.NOSPACE)),
        alarm(AlarmRequest.AlarmAction.ACTIVATE, MEMBER, AlarmType.NOSPACE).getAlarmsList());
    long rev = fx.revision();

    assertNoSpace(putReq("k2", "v"));
    assertNoSpace(grantReq(7, 10));
    assertNoSpace(InternalRaftRequest.newBuilder().setTxn(TxnRequest.newBuilder()
        .addFailure(RequestOp.newBuilder().setRequestPut(Req.put("k3", "v")))).build());
    assertEquals(rev, fx.revision(), "nothing was written");
    // what frees space still works: deletes, and transactions without puts
    fx.apply(InternalRaftRequest.newBuilder().setDeleteRange(DeleteRangeRequest.newBuilder().setKey(Req.bs("k"))).build());
    fx.apply(InternalRaftRequest.newBuilder().setTxn(TxnRequest.newBuilder()
        .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(Req.bs("x"))))).build());

    assertEquals(List.of(member(MEMBER, AlarmType.NOSPACE)),
        alarm(AlarmRequest.AlarmAction.DEACTIVATE, MEMBER, AlarmType.NOSPACE).getAlarmsList());
    assertTrue(fx.alarms().active().isEmpty());
    fx.put("k2", "v");
  }

  @Test
  void alarmsAreKeptPerMemberAndTypeAnsweredByGetAndSurviveARestart() {
    alarm(AlarmRequest.AlarmAction.ACTIVATE, 2, AlarmType.NOSPACE);
    alarm(AlarmRequest.AlarmAction.ACTIVATE, 1, AlarmType.CORRUPT);
    alarm(AlarmRequest.AlarmAction.ACTIVATE, 1, AlarmType.NOSPACE);
    assertEquals(List.of(member(2, AlarmType.NOSPACE)),
        alarm(AlarmRequest.AlarmAction.ACTIVATE, 2, AlarmType.NOSPACE).getAlarmsList(), "raising it again answers it");

    List<AlarmMember> all = List.of(member(1, AlarmType.NOSPACE), member(1, AlarmType.CORRUPT), member(2, AlarmType.NOSPACE));
    assertEquals(all, alarm(AlarmRequest.AlarmAction.GET, 0, AlarmType.NONE).getAlarmsList());
    assertEquals(List.of(member(1, AlarmType.CORRUPT)), alarm(AlarmRequest.AlarmAction.GET, 0, AlarmType.CORRUPT).getAlarmsList());

    fx.reopen();
    assertEquals(all, fx.alarms().active(), "persisted with the entry");
    assertNoSpace(putReq("k", "v"));

    assertEquals(List.of(), alarm(AlarmRequest.AlarmAction.DEACTIVATE, 3, AlarmType.NOSPACE).getAlarmsList(),
        "disarming an alarm nobody raised answers nothing");
    alarm(AlarmRequest.AlarmAction.DEACTIVATE, 1, AlarmType.NOSPACE);
    assertNoSpace(putReq("k", "v")); // member 2's NOSPACE still caps
    alarm(AlarmRequest.AlarmAction.DEACTIVATE, 2, AlarmType.NOSPACE);
    fx.put("k", "v");
    assertEquals(List.of(member(1, AlarmType.CORRUPT)), fx.alarms().active());
  }

  @Test
  void aLaterRequestOfTheSameEntrySeesTheAlarmAnEarlierOneRaised() {
    List<Object> results = fx.applyGroup(List.of(
        putReq("before", "v"),
        InternalRaftRequest.newBuilder().setAlarm(AlarmRequest.newBuilder()
            .setAction(AlarmRequest.AlarmAction.ACTIVATE).setMemberID(MEMBER).setAlarm(AlarmType.NOSPACE)).build(),
        putReq("after", "v")));
    assertFalse(results.get(0) instanceof EtcdException);
    assertEquals(EtcdError.NO_SPACE, assertInstanceOf(EtcdException.class, results.get(2)).error());
  }
}
