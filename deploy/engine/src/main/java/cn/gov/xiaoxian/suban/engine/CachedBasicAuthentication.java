package cn.gov.xiaoxian.suban.engine;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.cmd.AbstractWritableIdentityServiceCmd;
import org.camunda.bpm.engine.impl.interceptor.Command;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;
import org.camunda.bpm.engine.rest.security.auth.ProcessEngineAuthenticationFilter;
import org.camunda.bpm.engine.rest.security.auth.impl.HttpBasicAuthenticationProvider;
import org.springframework.stereotype.Component;

/**
 * HTTP Basic login of the REST API that remembers, for a short while, whom it has let in.
 *
 * <p>The engine's filter checks the password and reads the user's groups and tenants on every
 * call: five transactions before the call does its work, three quarters of all the engine's
 * transactions for an appeal (the workers and the console call it about fifteen times per
 * appeal). Here a successful login (user and password, the password kept only as a SHA-256
 * digest) and the user's groups and tenants are kept for {@link #TTL}; a wrong password is
 * never remembered, so it still counts towards the engine's lockout of the user.
 *
 * <p>Every change of users, groups, memberships or tenants through this engine (any writable
 * identity command, e.g. a new password, a deleted user, a unit's membership changed by the
 * directory sync) forgets everything at once. A change made through another engine node on
 * the same database takes effect here within {@link #TTL}.
 */
public class CachedBasicAuthentication extends ProcessEngineAuthenticationFilter {

  static final Duration TTL = Duration.ofSeconds(30);

  private record Entry<T>(T value, long expiresAt) {}

  private static final Map<String, Entry<Boolean>> LOGINS = new ConcurrentHashMap<>();
  private static final Map<String, Entry<List<String>>> GROUPS = new ConcurrentHashMap<>();
  private static final Map<String, Entry<List<String>>> TENANTS = new ConcurrentHashMap<>();
  /** Raised by every identity change: what was read before it is not remembered after it. */
  private static final AtomicLong GENERATION = new AtomicLong();

  /** Forgets every remembered login, group and tenant when a command changes identities. */
  @Component
  public static class IdentityChanges extends AbstractProcessEnginePlugin {
    @Override
    public void preInit(ProcessEngineConfigurationImpl configuration) {
      List<CommandInterceptor> interceptors = new java.util.ArrayList<>();
      if (configuration.getCustomPreCommandInterceptorsTxRequired() != null) {
        interceptors.addAll(configuration.getCustomPreCommandInterceptorsTxRequired());
      }
      interceptors.add(new CommandInterceptor() {
        @Override
        public <T> T execute(Command<T> command) {
          if (command instanceof AbstractWritableIdentityServiceCmd) {
            forgetAll();
            try {
              return next.execute(command);
            } finally {
              forgetAll();  // a login read while the change was under way
            }
          }
          return next.execute(command);
        }
      });
      configuration.setCustomPreCommandInterceptorsTxRequired(interceptors);
    }
  }

  static void forgetAll() {
    GENERATION.incrementAndGet();
    LOGINS.clear();
    GROUPS.clear();
    TENANTS.clear();
  }

  /** The Basic provider whose password check goes through the remembered logins. */
  public static class Provider extends HttpBasicAuthenticationProvider {
    @Override
    protected boolean isAuthenticated(ProcessEngine engine, String userName, String password) {
      String key = engine.getName() + '\n' + userName + '\n' + digest(password);
      Entry<Boolean> known = LOGINS.get(key);
      if (known != null && known.expiresAt() > System.currentTimeMillis()) {
        return true;
      }
      long generation = GENERATION.get();
      boolean authenticated = super.isAuthenticated(engine, userName, password);
      if (authenticated && generation == GENERATION.get()) {
        LOGINS.put(key, new Entry<>(true, expiry()));
      } else {
        LOGINS.remove(key);
      }
      return authenticated;
    }
  }

  @Override
  protected List<String> getGroupsOfUser(ProcessEngine engine, String userId) {
    return remembered(GROUPS, engine, userId, () -> super.getGroupsOfUser(engine, userId));
  }

  @Override
  protected List<String> getTenantsOfUser(ProcessEngine engine, String userId) {
    return remembered(TENANTS, engine, userId, () -> super.getTenantsOfUser(engine, userId));
  }

  private static List<String> remembered(Map<String, Entry<List<String>>> cache,
      ProcessEngine engine, String userId, Supplier<List<String>> read) {
    String key = engine.getName() + '\n' + userId;
    Entry<List<String>> known = cache.get(key);
    if (known != null && known.expiresAt() > System.currentTimeMillis()) {
      return known.value();
    }
    long generation = GENERATION.get();
    List<String> value = List.copyOf(read.get());
    if (generation == GENERATION.get()) {
      cache.put(key, new Entry<>(value, expiry()));
    }
    return value;
  }

  private static long expiry() {
    return System.currentTimeMillis() + TTL.toMillis();
  }

  private static String digest(String password) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(password.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }
}
