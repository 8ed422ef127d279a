package io.etcetera.mvcc.kv;

import com.google.protobuf.ByteString;

/** Where the store reports which keys a write attached to or detached from a lease. Apply thread only. */
public interface KeyLeases {
  KeyLeases NONE = new KeyLeases() {
    @Override
    public void attach(long lease, ByteString key) {}

    @Override
    public void detach(long lease, ByteString key) {}
  };

  void attach(long lease, ByteString key);

  void detach(long lease, ByteString key);
}
