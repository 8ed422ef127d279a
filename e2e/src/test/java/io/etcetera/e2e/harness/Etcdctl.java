package io.etcetera.e2e.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real {@code etcdctl} (API v3) against an endpoint:
 * {@code etcdctl --endpoints=<endpoint> --dial-timeout=5s --command-timeout=30s <args>}.
 *
 * <pre>{@code
 * Etcdctl.run(m.endpoint(), "put", "k", "v").ok();            // "OK\n"
 * Etcdctl.run(m.endpoint(), "get", "k").lines();              // [k, v]
 * Etcdctl.run(m.endpoint(), "get", "k", "-w", "json").json(); // Jackson tree
 * Etcdctl.runWithStdin(m.endpoint(), "\n\nput a 1\n\n\n", "txn").ok();
 * Etcdctl.run(m.endpoint(), "get", "k", "--rev=1").fails("etcdserver: mvcc: required revision has been compacted");
 * }</pre>
 */
public final class Etcdctl {

  /** Upper bound for one etcdctl process (command timeout is 30 s, dial timeout 5 s). */
  public static final Duration PROCESS_TIMEOUT = Duration.ofSeconds(90);

  private static final ObjectMapper JSON = new ObjectMapper();

  private Etcdctl() {}

  /** What one etcdctl invocation produced. */
  public record Result(int exitCode, String stdout, String stderr) {

    /** Asserts exit code 0 and returns stdout. */
    public String ok() {
      if (exitCode != 0) {
        throw new AssertionError("etcdctl failed with exit code " + exitCode + describe());
      }
      return stdout;
    }

    /** Stdout split into lines (line terminators removed, the final empty line dropped). */
    public List<String> lines() {
      if (stdout.isEmpty()) return List.of();
      String s = stdout.endsWith("\n") ? stdout.substring(0, stdout.length() - 1) : stdout;
      return Arrays.asList(s.split("\n", -1));
    }

    /** Asserts exit code 0 and parses stdout as JSON (for {@code -w json}). */
    public JsonNode json() {
      String out = ok();
      try {
        return JSON.readTree(out);
      } catch (IOException e) {
        throw new AssertionError("etcdctl stdout is not JSON: " + e.getMessage() + describe(), e);
      }
    }

    /**
     * The error etcdctl reports, i.e. the text after {@code "Error: "} on the last stderr line that
     * starts with it, or {@code null} if there is none.
     */
    public String error() {
      String found = null;
      for (String line : stderr.split("\n")) {
        if (line.startsWith("Error: ")) found = line.substring("Error: ".length()).strip();
      }
      return found;
    }

    /**
     * The gRPC errors etcdctl's client logged while retrying (the {@code "error"} field of its JSON
     * warn lines, e.g. {@code "rpc error: code = OutOfRange desc = etcdserver: ..."}).
     */
    public List<String> grpcErrors() {
      List<String> out = new ArrayList<>();
      for (String line : stderr.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          JsonNode n = JSON.readTree(line);
          if (n.hasNonNull("error")) out.add(n.get("error").asText());
        } catch (IOException ignored) {
          // not a log line
        }
      }
      return out;
    }

    /** Asserts a non-zero exit code and that etcdctl's error line is exactly {@code "Error: " + message}. */
    public Result fails(String message) {
      if (exitCode == 0) {
        throw new AssertionError("expected etcdctl to fail with \"Error: " + message + "\" but it succeeded"
            + describe());
      }
      if (!message.equals(error())) {
        throw new AssertionError("expected etcdctl error \"Error: " + message + "\" but got \"Error: "
            + error() + "\"" + describe());
      }
      return this;
    }

    /** Exit code, stdout and stderr, for assertion messages. */
    public String describe() {
      return "\n--- exit code: " + exitCode + "\n--- stdout:\n" + stdout + "\n--- stderr:\n" + stderr;
    }
  }

  /** Runs {@code etcdctl --endpoints=<endpoint> --dial-timeout=5s --command-timeout=30s args}. */
  public static Result run(String endpoint, String... args) {
    return runWithStdin(endpoint, null, args);
  }

  /** Like {@link #run} with {@code stdin} written to etcdctl's standard input (e.g. for {@code txn}). */
  public static Result runWithStdin(String endpoint, String stdin, String... args) {
    List<String> global = List.of("--endpoints=" + endpoint, "--dial-timeout=5s", "--command-timeout=30s");
    return exec(global, stdin, PROCESS_TIMEOUT, args);
  }

  /**
   * For commands that do not end by themselves ({@code watch}, {@code lease keep-alive}): runs
   * etcdctl until a complete stdout line contains {@code marker}, then stops it with SIGTERM, or until
   * it exits by itself, or until {@code timeout} (then stops it too and appends a note to stderr).
   * The exit code of a stopped etcdctl is 143 (SIGTERM).
   */
  public static Result runUntil(String endpoint, String marker, Duration timeout, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Tools.etcdctl().toString());
    cmd.addAll(List.of("--endpoints=" + endpoint, "--dial-timeout=5s", "--command-timeout=30s"));
    cmd.addAll(Arrays.asList(args));
    Path err = null;
    try {
      err = Files.createTempFile("etcdctl", ".err");
      ProcessBuilder pb = new ProcessBuilder(cmd)
          .redirectError(err.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      pb.environment().put("ETCDCTL_API", "3");
      pb.environment().keySet().removeIf(k -> k.startsWith("ETCDCTL_") && !k.equals("ETCDCTL_API"));
      Process p = pb.start();
      StringBuffer out = new StringBuffer();
      Thread reader = new Thread(() -> {
        try (java.io.Reader r = new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)) {
          char[] buf = new char[8192];
          int n;
          while ((n = r.read(buf)) >= 0) out.append(buf, 0, n);
        } catch (IOException ignored) {
          // process gone
        }
      }, "etcdctl-stdout");
      reader.setDaemon(true);
      reader.start();
      long deadline = System.nanoTime() + timeout.toNanos();
      boolean timedOut = false;
      while (p.isAlive()) {
        if (markerLineComplete(out, marker)) break;
        if (System.nanoTime() > deadline) {
          timedOut = true;
          break;
        }
        Thread.sleep(10);
      }
      if (p.isAlive()) {
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      reader.join(5000);
      String stderr = Files.readString(err);
      if (timedOut) stderr += "(e2e harness: stopped etcdctl after " + timeout + " without seeing " + marker + ")\n";
      String stdout = out.toString();
      if (!timedOut && marker != null) {
        // only what led up to the marker: output racing with the stop is not deterministic
        int end = stdout.indexOf('\n', stdout.indexOf(marker));
        if (end >= 0) stdout = stdout.substring(0, end + 1);
      }
      return new Result(p.exitValue(), stdout, stderr);
    } catch (IOException e) {
      throw new UncheckedIOException("running " + cmd, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + cmd, e);
    } finally {
      deleteQuietly(err);
    }
  }

  private static boolean markerLineComplete(CharSequence out, String marker) {
    if (marker == null) return false;
    String s = out.toString();
    int at = s.indexOf(marker);
    return at >= 0 && s.indexOf('\n', at) >= 0;
  }

  /**
   * Runs etcdctl with exactly the given global flags (no defaults added) and arguments; for callers
   * that need other timeouts, several endpoints or TLS flags.
   */
  public static Result exec(List<String> globalFlags, String stdin, Duration timeout, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Tools.etcdctl().toString());
    cmd.addAll(globalFlags);
    cmd.addAll(Arrays.asList(args));
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("etcdctl", ".out");
      err = Files.createTempFile("etcdctl", ".err");
      ProcessBuilder pb = new ProcessBuilder(cmd)
          .redirectOutput(out.toFile())
          .redirectError(err.toFile());
      pb.environment().put("ETCDCTL_API", "3");
      // no stray ETCDCTL_* settings from the caller's environment may change the command
      pb.environment().keySet().removeIf(k -> k.startsWith("ETCDCTL_") && !k.equals("ETCDCTL_API"));
      if (stdin == null) pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      Process p = pb.start();
      if (stdin != null) {
        try (OutputStream os = p.getOutputStream()) {
          os.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError("etcdctl did not finish within " + timeout + ": " + cmd
            + "\n--- stdout:\n" + Files.readString(out) + "\n--- stderr:\n" + Files.readString(err));
      }
      return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    } catch (IOException e) {
      throw new UncheckedIOException("running " + cmd, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + cmd, e);
    } finally {
      deleteQuietly(out);
      deleteQuietly(err);
    }
  }

  private static void deleteQuietly(Path p) {
    if (p == null) return;
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // temp file
    }
  }
}
