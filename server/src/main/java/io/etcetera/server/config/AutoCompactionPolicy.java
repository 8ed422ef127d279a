package io.etcetera.server.config;

import java.time.Duration;

/**
 * {@code --auto-compaction-mode} with {@code --auto-compaction-retention}, parsed as etcd parses
 * them: a bare number is hours (periodic) or revisions (revision); anything else is a Go duration
 * (which etcd, in revision mode, reads as a count of nanoseconds). Immutable.
 *
 * @param periodic periodic mode, else revision mode
 * @param period the retention of periodic mode
 * @param revisions the retention of revision mode
 */
public record AutoCompactionPolicy(boolean periodic, Duration period, long revisions) {

  public static AutoCompactionPolicy parse(String mode, String retention) {
    if (!mode.equals("periodic") && !mode.equals("revision")) {
      throw new FlagException("unknown auto-compaction-mode \"" + mode + "\"");
    }
    Long number = null;
    try {
      number = Long.parseLong(retention);
    } catch (NumberFormatException e) {
      // a duration
    }
    if (number != null && number >= 0) {
      return mode.equals("periodic")
          ? new AutoCompactionPolicy(true, Duration.ofHours(number), 0)
          : new AutoCompactionPolicy(false, Duration.ZERO, number);
    }
    Duration d = GoDuration.parse("auto-compaction-retention", retention);
    return mode.equals("periodic")
        ? new AutoCompactionPolicy(true, d, 0)
        : new AutoCompactionPolicy(false, Duration.ZERO, d.toNanos());
  }

  /** Retention 0 (etcd's default) turns automatic compaction off. */
  public boolean enabled() {
    return periodic ? !period.isZero() && !period.isNegative() : revisions != 0;
  }
}
