package io.etcetera.mvcc.apply;

import com.google.protobuf.Message;
import java.util.concurrent.CompletableFuture;

/**
 * The result of applying one request: its response (header revision set, the rest of the header
 * filled by the server), and for a physical compaction a future that completes when the rows are
 * gone (the client's answer waits for it).
 */
public record Applied(Message response, CompletableFuture<Void> physicalDone) {
  public static Applied of(Message response) {
    return new Applied(response, null);
  }
}
