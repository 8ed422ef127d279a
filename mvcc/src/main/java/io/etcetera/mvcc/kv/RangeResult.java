package io.etcetera.mvcc.kv;

import io.etcetera.api.mvccpb.KeyValue;
import java.util.List;

/**
 * What a range read found: the key-values (at most the limit asked for, in key order), the
 * number of keys in the range at the read revision, and the store's revision for the header.
 */
public record RangeResult(List<KeyValue> kvs, long count, long headerRevision) {}
