package org.apache.ratis.server.impl;

import org.apache.ratis.server.RaftServer;

/**
 * Releases a leader that Ratis 3.3.0 leaves "stepping down" after a failed leadership transfer.
 *
 * <p>The defect: {@code TransferLeadership.start} registers the request as pending (which makes the
 * leader refuse every write with {@code LeaderSteppingDownException}) and, when its first attempt
 * fails at once (the transferee is up to date but the StartLeaderElection call to it fails before
 * Ratis looks at it, e.g. because the transferee is stopped), answers the request without clearing
 * the pending slot and without scheduling the timeout that would clear it. Every later transfer
 * request is then answered from that stale request, and the leader refuses writes until it loses
 * the leadership. Whether the call has failed by the time Ratis looks is a race, so the leader of a
 * cluster asked to move leadership to a stopped member sometimes stops taking writes for good.
 *
 * <p>This class lives in Ratis' package because the slot is only reachable there. It completes the
 * pending transfer the way Ratis does when a leader is elected, which answers a request still
 * waiting (as failed, unless the transferee already leads) and empties the slot.
 *
 * <p>Threading: any thread; Ratis swaps the slot atomically.
 */
public final class StuckTransferRelease {
  private StuckTransferRelease() {
  }

  /**
   * Called after a transfer request of this member was answered as failed before its timeout:
   * empties Ratis' pending transfer slot if it is still occupied. Returns whether it was.
   */
  public static boolean releaseAfterFailedTransfer(RaftServer.Division division) {
    if (!(division instanceof RaftServerImpl server) || !server.isSteppingDown()) {
      return false;
    }
    server.getTransferLeadership().complete(TransferLeadership.Result.SUCCESS);
    return true;
  }
}
