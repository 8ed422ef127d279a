package io.etcetera.server.lease;

import com.google.protobuf.InvalidProtocolBufferException;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.LeaseTimeToLiveRequest;
import io.etcetera.api.etcdserverpb.LeaseTimeToLiveResponse;
import io.etcetera.mvcc.lease.Lease;
import io.etcetera.mvcc.lease.Lessor;
import io.etcetera.raft.RaftGateway;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * What only the leader knows about leases (its lessor counts the time), asked by followers as
 * etcd's followers forward keep-alives and TimeToLive to the leader: a keep-alive ({@code 'K'} +
 * lease ID → TTL) and TimeToLive ({@code 'T'} + request → response without header). Stateless.
 */
public final class LeaseLeaderQueries implements RaftGateway.LeaderQueries {
  private static final byte KEEP_ALIVE = 'K';
  private static final byte TIME_TO_LIVE = 'T';

  private final Lessor lessor;

  public LeaseLeaderQueries(Lessor lessor) {
    this.lessor = lessor;
  }

  public static byte[] keepAlive(long id) {
    return ByteBuffer.allocate(9).put(KEEP_ALIVE).putLong(id).array();
  }

  public static long keepAliveAnswer(byte[] answer) {
    return ByteBuffer.wrap(answer).getLong();
  }

  public static byte[] timeToLive(LeaseTimeToLiveRequest r) {
    byte[] body = r.toByteArray();
    byte[] out = new byte[body.length + 1];
    out[0] = TIME_TO_LIVE;
    System.arraycopy(body, 0, out, 1, body.length);
    return out;
  }

  public static LeaseTimeToLiveResponse timeToLiveAnswer(byte[] answer) throws InvalidProtocolBufferException {
    return LeaseTimeToLiveResponse.parseFrom(answer);
  }

  /** The TimeToLive answer of this member's lessor (without header). */
  public LeaseTimeToLiveResponse localTimeToLive(LeaseTimeToLiveRequest request) {
    LeaseTimeToLiveResponse.Builder b = LeaseTimeToLiveResponse.newBuilder().setID(request.getID());
    Lease l = lessor.lookup(request.getID());
    if (l == null) {
      return b.setTTL(-1).build();
    }
    b.setTTL(lessor.remainingSeconds(l)).setGrantedTTL(l.ttl());
    if (request.getKeys()) {
      b.addAllKeys(l.keys());
    }
    return b.build();
  }

  @Override
  public CompletableFuture<byte[]> answer(byte[] request) {
    if (request.length == 0) {
      return CompletableFuture.failedFuture(EtcdError.NOT_LEADER.exception());
    }
    if (!lessor.isPrimary()) {
      return CompletableFuture.failedFuture(EtcdError.NOT_LEADER.exception());
    }
    if (request[0] == KEEP_ALIVE) {
      long id = ByteBuffer.wrap(request, 1, 8).getLong();
      return lessor.renew(id).thenApply(ttl -> ByteBuffer.allocate(8).putLong(ttl).array());
    }
    if (request[0] == TIME_TO_LIVE) {
      try {
        LeaseTimeToLiveRequest r = LeaseTimeToLiveRequest.parseFrom(
            java.util.Arrays.copyOfRange(request, 1, request.length));
        return CompletableFuture.completedFuture(localTimeToLive(r).toByteArray());
      } catch (InvalidProtocolBufferException e) {
        return CompletableFuture.failedFuture(EtcdError.NOT_LEADER.exception());
      }
    }
    return CompletableFuture.failedFuture(EtcdError.NOT_LEADER.exception());
  }
}
