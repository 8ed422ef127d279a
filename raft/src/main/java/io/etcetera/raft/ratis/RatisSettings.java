package io.etcetera.raft.ratis;

import io.etcetera.api.etcdserverpb.Member;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;

/**
 * How this member takes part in the Raft group, taken from etcd's flags. Immutable.
 *
 * @param memberId this member's etcd ID (its Ratis peer ID is the ID in hex)
 * @param name this member's name, published in the member table
 * @param clientUrls this member's advertised client URLs, published in the member table
 * @param groupKey names the Ratis group (the cluster token: the same on every member)
 * @param clusterId the cluster ID a new cluster bootstraps with
 * @param initialMembers the {@code --initial-cluster} members (ID, name, peer URLs): the founding
 *     voters of a new cluster, or the members to ask when joining an existing one
 * @param newCluster whether the initial members found a new cluster ({@code --initial-cluster-state=new})
 * @param forceNewCluster etcd's {@code --force-new-cluster}: a member with data restarts as the only
 *     member of its cluster, keeping its data and the cluster ID
 * @param listenHost the host the peer port binds to ({@code --listen-peer-urls})
 * @param electionMillis etcd's {@code --election-timeout}: Ratis elects within [1×, 2×) of it
 * @param requestTimeout how long a proposal or read barrier may wait (etcd: 5 s + 2 elections)
 * @param snapshotCount applied entries between snapshots that let Ratis truncate its log
 * @param peerKeys this member's peer certificate and key (null: plain peer traffic)
 * @param peerTrust verifies the other members' certificates (with {@code peerKeys})
 * @param syncLog whether the Raft log is fsync'd before entries are acknowledged
 */
public record RatisSettings(
    long memberId,
    String name,
    List<String> clientUrls,
    String groupKey,
    long clusterId,
    List<Member> initialMembers,
    boolean newCluster,
    boolean forceNewCluster,
    Path storageDir,
    String listenHost,
    int listenPort,
    long heartbeatMillis,
    long electionMillis,
    Duration requestTimeout,
    long snapshotCount,
    KeyManager peerKeys,
    TrustManager peerTrust,
    boolean syncLog) {

  public boolean tls() {
    return peerKeys != null;
  }
}
