package cn.gov.xiaoxian.suban.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.interceptor.Command;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;
import org.glassfish.jersey.server.ResourceConfig;
import org.springframework.boot.autoconfigure.jersey.ResourceConfigCustomizer;
import org.springframework.stereotype.Component;

/**
 * Counts the engine's work for benchmarks: every outermost command is one database transaction
 * (nested commands join it), counted in all and by command class, since the engine started.
 * {@code GET /engine-rest/suban/engine-work} (administrators only) →
 * {@code {"transactions": 1234, "commands": {"FetchExternalTasksCmd": 56, ...}}}; the
 * benchmarks read it before and after a run. The Camunda metrics (activity instances, jobs)
 * do not count transactions, and a transaction, not an activity, is what costs CPU.
 */
@Component
@Path("/suban/engine-work")
@Produces(MediaType.APPLICATION_JSON)
public class EngineWork extends AbstractProcessEnginePlugin implements ResourceConfigCustomizer {

  private final LongAdder transactions = new LongAdder();
  private final Map<String, LongAdder> commands = new ConcurrentHashMap<>();
  private final ThreadLocal<int[]> depth = ThreadLocal.withInitial(() -> new int[1]);
  private ProcessEngine engine;

  /** Counts each command that opens a transaction: the outermost one on its thread. */
  private final class Counter extends CommandInterceptor {
    @Override
    public <T> T execute(Command<T> command) {
      int[] level = depth.get();
      if (level[0] == 0) {
        transactions.increment();
        commands.computeIfAbsent(command.getClass().getSimpleName(), name -> new LongAdder())
            .increment();
      }
      level[0]++;
      try {
        return next.execute(command);
      } finally {
        level[0]--;
      }
    }
  }

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    configuration.setCustomPreCommandInterceptorsTxRequired(
        withCounter(configuration.getCustomPreCommandInterceptorsTxRequired()));
    configuration.setCustomPreCommandInterceptorsTxRequiresNew(
        withCounter(configuration.getCustomPreCommandInterceptorsTxRequiresNew()));
  }

  private List<CommandInterceptor> withCounter(List<CommandInterceptor> interceptors) {
    List<CommandInterceptor> chain = new ArrayList<>();
    chain.add(new Counter());
    if (interceptors != null) {
      chain.addAll(interceptors);
    }
    return chain;
  }

  @Override
  public void postProcessEngineBuild(ProcessEngine processEngine) {
    this.engine = processEngine;
  }

  /** Joins the engine's own JAX-RS application, under /engine-rest with its login filter. */
  @Override
  public void customize(ResourceConfig config) {
    config.register(this);
  }

  @GET
  public Map<String, Object> count() {
    Administrators.require(engine.getIdentityService(), "read the engine's work counts");
    Map<String, Long> byCommand = new TreeMap<>();
    commands.forEach((name, count) -> byCommand.put(name, count.sum()));
    return Map.of("transactions", transactions.sum(), "commands", byCommand);
  }
}
