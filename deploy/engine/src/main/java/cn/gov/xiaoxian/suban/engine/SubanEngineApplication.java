package cn.gov.xiaoxian.suban.engine;

import java.util.Map;
import java.util.Set;

import org.camunda.bpm.engine.rest.security.auth.ProcessEngineAuthenticationFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;

/**
 * The 宿事速办 process engine: Camunda 7 with its REST API and the Tasklist, Cockpit and Admin
 * webapps. Everything else (deployment, directory, workers) talks to it over REST.
 */
@SpringBootApplication
public class SubanEngineApplication {

  private static final Logger LOG = LoggerFactory.getLogger(SubanEngineApplication.class);

  /** The password shipped for the embedded demo; any other deployment must replace it. */
  static final String DEMO_ADMIN_PASSWORD = "demo";
  static final String ADMIN_PASSWORD_PROPERTY = "camunda.bpm.admin-user.password";
  /** SUBAN_PROFILE: `demo` allows the shipped passwords (with a warning), `production` not. */
  static final String PROFILE_PROPERTY = "suban.profile";
  static final Set<String> PROFILES = Set.of("demo", "production");

  /** Refuses, before the engine starts and creates its administrator, what the profile forbids. */
  public SubanEngineApplication(Environment environment) {
    String profile = environment.getProperty(PROFILE_PROPERTY, "demo");
    if (!PROFILES.contains(profile)) {
      throw new IllegalStateException("SUBAN_PROFILE='" + profile + "' is not a profile: use "
          + "'demo' (the embedded demo) or 'production'.");
    }
    if ("production".equals(profile)
        && DEMO_ADMIN_PASSWORD.equals(environment.getProperty(ADMIN_PASSWORD_PROPERTY))) {
      throw new IllegalStateException("SUBAN_PROFILE=production refuses the demo password of the "
          + "administrator: set SUBAN_ADMIN_PASSWORD to a password of your own.");
    }
  }

  public static void main(String[] args) {
    SpringApplication.run(SubanEngineApplication.class, args);
  }

  /** The REST API is open by default; every call must carry HTTP Basic credentials (checked
   * once in a while, not on every call: {@link CachedBasicAuthentication}). */
  @Bean
  public FilterRegistrationBean<ProcessEngineAuthenticationFilter> engineRestAuthentication() {
    FilterRegistrationBean<ProcessEngineAuthenticationFilter> registration =
        new FilterRegistrationBean<>(new CachedBasicAuthentication());
    registration.setName("engine-rest-basic-authentication");
    registration.addUrlPatterns("/engine-rest/*");
    registration.setInitParameters(Map.of(
        ProcessEngineAuthenticationFilter.AUTHENTICATION_PROVIDER_PARAM,
        CachedBasicAuthentication.Provider.class.getName()));
    return registration;
  }

  @EventListener(ApplicationReadyEvent.class)
  public void warnAboutDemoPassword(ApplicationReadyEvent event) {
    String adminPassword =
        event.getApplicationContext().getEnvironment().getProperty(ADMIN_PASSWORD_PROPERTY);
    if (DEMO_ADMIN_PASSWORD.equals(adminPassword)) {
      LOG.warn("SECURITY: the admin user still has the demo password '{}'. "
          + "Set SUBAN_ADMIN_PASSWORD before this engine holds real appeals.", DEMO_ADMIN_PASSWORD);
    }
  }
}
