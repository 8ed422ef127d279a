package io.etcetera.server.auth;

import io.etcetera.mvcc.auth.JwtTokens;
import io.etcetera.mvcc.auth.SimpleTokens;
import io.etcetera.mvcc.auth.TokenProvider;
import io.etcetera.mvcc.lease.Ticker;
import io.etcetera.server.config.FlagException;
import io.etcetera.server.config.GoDuration;
import io.etcetera.tls.pem.PemFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;

/**
 * Builds the token provider from {@code --auth-token}: {@code simple} (TTL from
 * {@code --auth-token-ttl}), or {@code jwt,pub-key=FILE,priv-key=FILE,sign-method=RS256,ttl=5m}
 * with etcd's option names and defaults (ttl 5 m). Stateless.
 */
public final class TokenProviders {
  private TokenProviders() {}

  public static TokenProvider fromFlag(String authToken, long simpleTtlSeconds) {
    String[] parts = authToken.split(",");
    if (parts[0].equals("simple")) {
      return new SimpleTokens(Ticker.SYSTEM, simpleTtlSeconds);
    }
    Map<String, String> opts = new HashMap<>();
    for (int i = 1; i < parts.length; i++) {
      String[] kv = parts[i].split("=", 2);
      if (kv.length != 2) {
        throw new FlagException("--auth-token: bad option '" + parts[i] + "' (expected key=value)");
      }
      if (!kv[0].matches("pub-key|priv-key|sign-method|ttl")) {
        throw new FlagException("--auth-token: unknown JWT option '" + kv[0] + "'");
      }
      opts.put(kv[0], kv[1]);
    }
    String method = opts.getOrDefault("sign-method", "");
    long ttl = opts.containsKey("ttl") ? GoDuration.parse("auth-token ttl", opts.get("ttl")).toSeconds() : 300;
    try {
      if (method.toUpperCase(java.util.Locale.ROOT).startsWith("HS")) {
        String key = opts.get("priv-key");
        if (key == null) {
          throw new FlagException("--auth-token: " + method + " needs priv-key (the shared secret)");
        }
        return new JwtTokens(method, null, null, Files.readAllBytes(Path.of(key)), ttl, Clock.systemUTC());
      }
      PrivateKey priv = opts.containsKey("priv-key") ? PemFiles.privateKey(Path.of(opts.get("priv-key"))) : null;
      PublicKey pub = opts.containsKey("pub-key") ? PemFiles.publicKey(Path.of(opts.get("pub-key"))) : null;
      if (pub == null && priv != null) {
        throw new FlagException("--auth-token: JWT " + method + " needs pub-key to verify tokens");
      }
      return new JwtTokens(method, priv, pub, null, ttl, Clock.systemUTC());
    } catch (IOException e) {
      throw new FlagException("--auth-token: " + e.getMessage());
    } catch (IllegalArgumentException e) {
      throw new FlagException("--auth-token: " + e.getMessage());
    }
  }
}
