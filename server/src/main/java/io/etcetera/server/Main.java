package io.etcetera.server;

import ch.qos.logback.classic.Level;
import io.etcetera.server.config.EtcdFlags;
import io.etcetera.server.config.FlagException;
import io.etcetera.server.config.ServerConfig;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code etcetera} command: started with etcd's flags it runs a member, as {@code etcd} does
 * (exit status 1 for a bad flag or a failed start, as etcd); {@code etcetera certs ...} makes
 * certificates; {@code etcetera snapshot restore|status} works on snapshot files.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("certs")) {
      System.exit(CertsCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length)));
    }
    if (args.length > 0 && args[0].equals("snapshot")) {
      setLogLevel("warn"); // the command's own output only
      System.exit(SnapshotCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length)));
    }
    EtcdFlags.Parsed flags;
    ServerConfig cfg;
    try {
      flags = EtcdFlags.parse(args, System.getenv());
      if (flags.help()) {
        System.out.print(EtcdFlags.usage());
        return;
      }
      if (flags.bool("version")) {
        System.out.println("etcetera Version: " + Version.ETCETERA);
        System.out.println("etcd API Version: " + Version.ETCD_API);
        System.out.println("Java Version: " + System.getProperty("java.version"));
        return;
      }
      cfg = ServerConfig.from(flags);
    } catch (FlagException e) {
      System.err.println("etcetera: " + e.getMessage());
      System.err.println("Run 'etcetera --help' for the flags.");
      System.exit(1);
      return;
    }
    setLogLevel(cfg.logLevel());
    Logger log = LoggerFactory.getLogger(Main.class);
    flags.notes().forEach(n -> log.info("{}", n));
    EtceteraServer server;
    try {
      server = EtceteraServer.start(cfg);
    } catch (Exception e) {
      log.error("cannot start: {}", e.getMessage(), e);
      System.exit(1);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("received a signal; shutting down");
      server.close();
      stopped.countDown();
    }, "shutdown"));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void setLogLevel(String level) {
    Level l = switch (level.toLowerCase(java.util.Locale.ROOT)) {
      case "debug" -> Level.DEBUG;
      case "warn" -> Level.WARN;
      case "error", "panic", "fatal", "dpanic" -> Level.ERROR;
      default -> Level.INFO;
    };
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(l);
  }
}
