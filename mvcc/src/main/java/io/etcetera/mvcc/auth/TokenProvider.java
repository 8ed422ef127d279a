package io.etcetera.mvcc.auth;

/**
 * Issues and resolves auth tokens ({@code --auth-token}): etcd's simple tokens, or signed JWTs.
 * {@link #assign} runs when an Authenticate entry is applied; {@link #info} on any thread for each
 * request that carries a token.
 */
public interface TokenProvider {
  /** The token for {@code user}; {@code prefix} is the random part minted before proposing, {@code index} the entry's log index. */
  String assign(String prefix, long index, String user, long authRevision);

  /** Who holds {@code token} (with the auth revision the request counts as checked at), or null if invalid. */
  AuthInfo info(String token, long currentRevision);

  /** Ends the tokens of {@code user} (password changed, user deleted), where the kind allows. */
  void invalidateUser(String user);

  /** Ends every token (auth disabled), where the kind allows. */
  void clear();
}
