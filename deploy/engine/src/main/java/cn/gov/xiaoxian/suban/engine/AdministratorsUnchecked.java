package cn.gov.xiaoxian.suban.engine;

import java.util.ArrayList;

import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.interceptor.Session;
import org.camunda.bpm.engine.impl.interceptor.SessionFactory;
import org.camunda.bpm.engine.impl.persistence.entity.AuthorizationManager;
import org.springframework.stereotype.Component;

/**
 * The engine's administrators (camunda-admin, or the engine's admin users) read without
 * authorization checks, as their commands already do (Camunda checks only that they are
 * administrators there).
 *
 * <p>Camunda joins every query of an authenticated user with the authorizations (a derived
 * table matched per candidate row), administrators included, though their group holds ALL on
 * every resource. On H2 that join grew with the history: the assessment sync's read of the
 * open appeals' unit tasks (historic tasks by business key, as administrator) took 0.7–1 s on an
 * engine holding 10,000 closed appeals, nearly all of it in the authorization sub-query, against
 * tens of milliseconds on an empty one. Units and the workers' account are checked as before.
 */
@Component
public class AdministratorsUnchecked extends AbstractProcessEnginePlugin {

  /** Camunda's authorization manager, minus the checks for administrators. */
  static final class Manager extends AuthorizationManager {
    @Override
    protected boolean isAuthCheckExecuted() {
      return super.isAuthCheckExecuted() && !isCamundaAdmin(getCurrentAuthentication());
    }
  }

  /** Opens {@link Manager} where the engine asks for its authorization manager. */
  static final class ManagerFactory implements SessionFactory {
    @Override
    public Class<?> getSessionType() {
      return AuthorizationManager.class;
    }

    @Override
    public Session openSession() {
      return new Manager();
    }
  }

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    if (configuration.getCustomSessionFactories() == null) {
      configuration.setCustomSessionFactories(new ArrayList<>());
    }
    configuration.getCustomSessionFactories().add(new ManagerFactory());
  }
}
