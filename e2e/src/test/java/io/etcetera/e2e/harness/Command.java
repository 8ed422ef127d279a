package io.etcetera.e2e.harness;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short command-line program to its end (curl, {@code bin/etcetera snapshot ...}): its exit
 * status and its output and errors together. A program that does not finish in time is killed and
 * fails the test.
 *
 * @param exit the exit status
 * @param output standard output and standard error, interleaved
 */
public record Command(int exit, String output) {

  public static Command run(List<String> command, long timeoutSeconds) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("did not finish in " + timeoutSeconds + " s: " + command);
    }
    return new Command(p.exitValue(), out);
  }
}
