/**
 * Linearizability checking for the e2e tests: a workload that records a concurrent history of
 * READ / WRITE / CAS operations on a few keys, and a checker for such histories.
 *
 * <ul>
 *   <li>{@link io.etcetera.e2e.linearizability.LinearizabilityWorkload}: client threads issuing
 *       linearizable Range, Put and compare-and-swap Txn calls over raw gRPC (plain or {@link
 *       io.etcetera.e2e.linearizability.ClientTls}), 3 s deadline per call, moving to the next
 *       endpoint after an error; calls that fail without proof of no effect are UNKNOWN.
 *   <li>{@link io.etcetera.e2e.linearizability.History} / {@link
 *       io.etcetera.e2e.linearizability.Operation}: the recorded history (invocation and response
 *       {@code System.nanoTime()}, outcome OK / FAILED / UNKNOWN, unique written values).
 *   <li>{@link io.etcetera.e2e.linearizability.LinearizabilityChecker}: a per-key Wing &amp; Gong /
 *       porcupine search with memoization and a budget; {@code INCONCLUSIVE} counts as not ok.
 * </ul>
 *
 * <pre>{@code
 * LinearizabilityWorkload.Handle w = LinearizabilityWorkload.start(cluster.endpoints(), tlsOrNull, 8, 4);
 * // ... faults ...
 * History h = w.stop();
 * h.writeTo(work.resolve("history.txt"));               // next to the member logs
 * LinearizabilityChecker.Result r = LinearizabilityChecker.check(h);
 * assertTrue(r.ok(), r.describe());                      // describe(): key, op that cannot be placed, context
 * }</pre>
 */
package io.etcetera.e2e.linearizability;
