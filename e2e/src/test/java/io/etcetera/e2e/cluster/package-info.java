/**
 * Black-box tests of 3- and 5-member clusters, written against the real etcd 3.4 ({@code
 * -De2e.binary=etcd}) and run unchanged against Etcetera (the default binary).
 *
 * <ul>
 *   <li>{@link io.etcetera.e2e.cluster.Cluster}: N member processes ({@code etcdN} on {@code
 *       127.0.1.N}, client port 2379, peer port 2380) started with etcd's static-bootstrap flags,
 *       plain or mTLS ({@link io.etcetera.e2e.cluster.TlsFiles}, kubeadm's layout); etcdctl
 *       against one or all members; leader lookup via {@code endpoint status}; kill -9, SIGTERM,
 *       restart on the same data dir; {@code member add} (+ start with {@code
 *       --initial-cluster-state=existing}) and {@code member remove}; network partitions through
 *       {@link io.etcetera.e2e.cluster.FaultProxy} peer proxies (no root needed).
 *   <li>{@link io.etcetera.e2e.cluster.ClusterFormationTest}: formation, health, status,
 *       replication, watch across members, restart (plain and mTLS).
 *   <li>{@link io.etcetera.e2e.cluster.ClusterFaultTest}: leader kill -9 under writes, loss of
 *       quorum, isolated leader.
 *   <li>{@link io.etcetera.e2e.cluster.ClusterMembershipTest}: learner add/promote, member remove,
 *       move-leader, 5-member cluster losing two members.
 * </ul>
 *
 * <p>The fixed addresses mean two cluster tests cannot run at the same time (on one machine); a
 * busy address fails the test with a message naming it.
 */
package io.etcetera.e2e.cluster;
