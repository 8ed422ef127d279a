package io.etcetera.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.etcetera.api.authpb.AuthProto;
import io.etcetera.api.etcdserverpb.AuthGrpc;
import io.etcetera.api.etcdserverpb.ClusterGrpc;
import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.KVGrpc;
import io.etcetera.api.etcdserverpb.LeaseGrpc;
import io.etcetera.api.etcdserverpb.MaintenanceGrpc;
import io.etcetera.api.etcdserverpb.RaftInternalProto;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.api.etcdserverpb.RpcProto;
import io.etcetera.api.etcdserverpb.StatusResponse;
import io.etcetera.api.etcdserverpb.WatchCreateRequest;
import io.etcetera.api.etcdserverpb.WatchGrpc;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.api.mvccpb.KvProto;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Pins our generated protos to etcd's wire names and numbers. */
class WireContractTest {

    private static final List<FileDescriptor> FILES = List.of(
            KvProto.getDescriptor(), AuthProto.getDescriptor(),
            RpcProto.getDescriptor(), RaftInternalProto.getDescriptor());

    private static final Map<String, Descriptor> MESSAGES = new HashMap<>();
    private static final Map<String, EnumDescriptor> ENUMS = new HashMap<>();
    private static final Map<String, ServiceDescriptor> SERVICES = new HashMap<>();

    static {
        for (FileDescriptor f : FILES) {
            f.getMessageTypes().forEach(WireContractTest::index);
            f.getEnumTypes().forEach(e -> ENUMS.put(e.getFullName(), e));
            f.getServices().forEach(s -> SERVICES.put(s.getFullName(), s));
        }
    }

    private static void index(Descriptor d) {
        MESSAGES.put(d.getFullName(), d);
        d.getNestedTypes().forEach(WireContractTest::index);
        d.getEnumTypes().forEach(e -> ENUMS.put(e.getFullName(), e));
    }

    // ------------------------------------------------------------ names

    @Test
    void serviceNamesAreEtcds() {
        assertEquals("etcdserverpb.KV", KVGrpc.SERVICE_NAME);
        assertEquals("etcdserverpb.Watch", WatchGrpc.SERVICE_NAME);
        assertEquals("etcdserverpb.Lease", LeaseGrpc.SERVICE_NAME);
        assertEquals("etcdserverpb.Cluster", ClusterGrpc.SERVICE_NAME);
        assertEquals("etcdserverpb.Maintenance", MaintenanceGrpc.SERVICE_NAME);
        assertEquals("etcdserverpb.Auth", AuthGrpc.SERVICE_NAME);
        assertEquals(6, SERVICES.size());
    }

    @Test
    void fullMethodNamesAndStreamingShapes() {
        assertEquals("etcdserverpb.KV/Range", KVGrpc.getRangeMethod().getFullMethodName());
        assertEquals("etcdserverpb.Watch/Watch", WatchGrpc.getWatchMethod().getFullMethodName());
        assertEquals(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING, WatchGrpc.getWatchMethod().getType());
        assertEquals(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING,
                LeaseGrpc.getLeaseKeepAliveMethod().getType());
        assertEquals(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING,
                MaintenanceGrpc.getSnapshotMethod().getType());
        assertEquals("etcdserverpb.Maintenance/Downgrade", MaintenanceGrpc.getDowngradeMethod().getFullMethodName());
        assertEquals("etcdserverpb.Auth/AuthStatus", AuthGrpc.getAuthStatusMethod().getFullMethodName());
    }

    @Test
    void selectedFieldNumbers() {
        Descriptor range = RangeRequest.getDescriptor();
        assertEquals(8, range.findFieldByName("keys_only").getNumber());
        assertEquals(9, range.findFieldByName("count_only").getNumber());
        assertEquals(10, range.findFieldByName("min_mod_revision").getNumber());
        assertEquals(13, range.findFieldByName("max_create_revision").getNumber());

        Descriptor wc = WatchCreateRequest.getDescriptor();
        assertEquals(6, wc.findFieldByName("prev_kv").getNumber());
        assertEquals(7, wc.findFieldByName("watch_id").getNumber());
        assertEquals(8, wc.findFieldByName("fragment").getNumber());

        Descriptor rh = ResponseHeader.getDescriptor();
        assertEquals(3, rh.findFieldByName("revision").getNumber());
        assertEquals(4, rh.findFieldByName("raft_term").getNumber());

        Descriptor st = StatusResponse.getDescriptor();
        assertEquals(7, st.findFieldByName("raftAppliedIndex").getNumber());
        assertEquals(8, st.findFieldByName("errors").getNumber());
        assertEquals(9, st.findFieldByName("dbSizeInUse").getNumber());
        assertEquals(10, st.findFieldByName("isLearner").getNumber());
        assertEquals(11, st.findFieldByName("storageVersion").getNumber());

        Descriptor cmp = Compare.getDescriptor();
        assertEquals(1, cmp.getOneofs().size());
        assertEquals("target_union", cmp.getOneofs().get(0).getName());
        assertEquals(List.of("version", "create_revision", "mod_revision", "value", "lease"),
                cmp.getOneofs().get(0).getFields().stream().map(FieldDescriptor::getName).toList());
        assertEquals(64, cmp.findFieldByName("range_end").getNumber());

        Descriptor kv = KeyValue.getDescriptor();
        assertEquals(List.of("key", "create_revision", "mod_revision", "version", "value", "lease"),
                kv.getFields().stream().map(FieldDescriptor::getName).toList());
        for (int i = 0; i < 6; i++) {
            assertEquals(i + 1, kv.getFields().get(i).getNumber());
        }
    }

    @Test
    void countOnlyEncodesAsField9() {
        byte[] wire = RangeRequest.newBuilder().setCountOnly(true).build().toByteArray();
        assertEquals(2, wire.length);
        assertEquals((9 << 3), wire[0]);  // field 9, varint
        assertEquals(1, wire[1]);
    }

    @Test
    void raftEntryReservesTheV2Request() {
        Descriptor d = InternalRaftRequest.getDescriptor();
        assertTrue(d.isReservedNumber(2));
        assertTrue(d.isReservedName("v2"));
        assertEquals(null, d.findFieldByNumber(2));
    }

    // ------------------------------------------------------------ full tables

    static Stream<Arguments> fieldRows() {
        return Stream.concat(Stream.of(EtcdWireTables.ETCD_3_4_FIELDS), Stream.of(EtcdWireTables.LATER_FIELDS))
                .map(r -> Arguments.of((Object[]) r));
    }

    @ParameterizedTest(name = "{0}.{1} = {2}")
    @MethodSource("fieldRows")
    void fieldMatchesEtcd(String message, String field, String number, String type, String label, String oneof) {
        Descriptor d = MESSAGES.get(message);
        assertNotNull(d, "missing message " + message);
        FieldDescriptor f = d.findFieldByName(field);
        assertNotNull(f, "missing field " + message + "." + field);
        assertEquals(Integer.parseInt(number), f.getNumber(), "number of " + message + "." + field);
        assertEquals(type, typeName(f), "type of " + message + "." + field);
        assertEquals(label, f.isRepeated() ? "repeated" : "optional", "label of " + message + "." + field);
        String actualOneof = f.getRealContainingOneof() == null ? "" : f.getRealContainingOneof().getName();
        assertEquals(oneof, actualOneof, "oneof of " + message + "." + field);
    }

    private static String typeName(FieldDescriptor f) {
        return switch (f.getType()) {
            case MESSAGE, GROUP -> f.getMessageType().getFullName();
            case ENUM -> f.getEnumType().getFullName();
            default -> f.getType().name().toLowerCase();
        };
    }

    @Test
    void noFieldsBeyondTheTables() {
        Set<String> expected = new HashSet<>();
        for (String[][] t : List.of(EtcdWireTables.ETCD_3_4_FIELDS, EtcdWireTables.LATER_FIELDS)) {
            for (String[] r : t) {
                assertTrue(expected.add(r[0] + "." + r[1]), "duplicate table row " + r[0] + "." + r[1]);
            }
        }
        Set<String> actual = new TreeSet<>();
        MESSAGES.values().forEach(d -> d.getFields().forEach(f -> actual.add(d.getFullName() + "." + f.getName())));
        assertEquals(new TreeSet<>(expected), actual);
    }

    @Test
    void sameMessageSetAsEtcd() {
        Set<String> expected = new TreeSet<>(List.of(EtcdWireTables.ETCD_3_4_MESSAGES));
        expected.addAll(List.of(EtcdWireTables.LATER_MESSAGES));
        assertEquals(expected, new TreeSet<>(MESSAGES.keySet()));
    }

    @Test
    void enumValuesMatchEtcd() {
        Set<String> expected = new TreeSet<>();
        for (String[][] t : List.of(EtcdWireTables.ETCD_3_4_ENUM_VALUES, EtcdWireTables.LATER_ENUM_VALUES)) {
            for (String[] r : t) {
                expected.add(r[0] + "." + r[1] + "=" + r[2]);
            }
        }
        Set<String> actual = new TreeSet<>();
        for (EnumDescriptor e : ENUMS.values()) {
            for (EnumValueDescriptor v : e.getValues()) {
                actual.add(e.getFullName() + "." + v.getName() + "=" + v.getNumber());
            }
        }
        assertEquals(expected, actual);
    }

    @Test
    void rpcsMatchEtcd() {
        Set<String> expected = new TreeSet<>();
        for (String[][] t : List.of(EtcdWireTables.ETCD_3_4_RPCS, EtcdWireTables.LATER_RPCS)) {
            for (String[] r : t) {
                expected.add(String.join(" ", r));
            }
        }
        Set<String> actual = new TreeSet<>();
        for (ServiceDescriptor s : SERVICES.values()) {
            for (MethodDescriptor m : s.getMethods()) {
                String shape = m.isClientStreaming()
                        ? (m.isServerStreaming() ? "BIDI_STREAMING" : "CLIENT_STREAMING")
                        : (m.isServerStreaming() ? "SERVER_STREAMING" : "UNARY");
                actual.add(String.join(" ", s.getFullName(), m.getName(),
                        m.getInputType().getFullName(), m.getOutputType().getFullName(), shape));
            }
        }
        assertEquals(expected, actual);
    }

    @Test
    void generatedStubsAgreeWithDescriptors() {
        List<io.grpc.ServiceDescriptor> stubs = List.of(
                KVGrpc.getServiceDescriptor(), WatchGrpc.getServiceDescriptor(), LeaseGrpc.getServiceDescriptor(),
                ClusterGrpc.getServiceDescriptor(), MaintenanceGrpc.getServiceDescriptor(),
                AuthGrpc.getServiceDescriptor());
        int methods = 0;
        for (io.grpc.ServiceDescriptor sd : stubs) {
            ServiceDescriptor proto = SERVICES.get(sd.getName());
            assertNotNull(proto, sd.getName());
            for (io.grpc.MethodDescriptor<?, ?> m : sd.getMethods()) {
                String bare = m.getBareMethodName();
                assertEquals(sd.getName() + "/" + bare, m.getFullMethodName());
                assertNotNull(proto.findMethodByName(bare), m.getFullMethodName());
                methods++;
            }
        }
        assertEquals(EtcdWireTables.ETCD_3_4_RPCS.length + EtcdWireTables.LATER_RPCS.length, methods);
    }
}
