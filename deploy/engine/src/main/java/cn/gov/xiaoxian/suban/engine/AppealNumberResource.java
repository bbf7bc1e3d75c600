package cn.gov.xiaoxian.suban.engine;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response.Status;

import org.camunda.bpm.engine.AuthorizationService;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.authorization.Permission;
import org.camunda.bpm.engine.authorization.Permissions;
import org.camunda.bpm.engine.authorization.Resources;
import org.camunda.bpm.engine.impl.identity.Authentication;
import org.camunda.bpm.engine.rest.exception.InvalidRequestException;
import org.glassfish.jersey.server.ResourceConfig;
import org.springframework.boot.autoconfigure.jersey.ResourceConfigCustomizer;
import org.springframework.stereotype.Component;

/**
 * Appeal numbers over the engine's REST API (so behind its HTTP Basic login, on every node):
 * <ul>
 *   <li>{@code POST /engine-rest/suban/appeal-numbers} {@code {"claim": "<process instance
 *   id>"}} (claim optional) → {@code {"number": "XS20261127-0001"}};</li>
 *   <li>{@code POST /engine-rest/suban/offline-series} → {@code {"series": 1}}.</li>
 * </ul>
 * Only who may start appeals (the console's account, hotline agents) or work on them (the
 * workers) takes numbers: a unit's account could otherwise burn them.
 */
@Component
@Path("/suban")
@Produces(MediaType.APPLICATION_JSON)
public class AppealNumberResource implements ResourceConfigCustomizer {

  static final String APPEAL_PROCESS = "hotline_appeal";
  static final List<Permission> NUMBERING_PERMISSIONS =
      List.of(Permissions.CREATE_INSTANCE, Permissions.UPDATE_INSTANCE);

  private final AppealNumbers numbers;
  private final ProcessEngine engine;

  public AppealNumberResource(AppealNumbers numbers, ProcessEngine engine) {
    this.numbers = numbers;
    this.engine = engine;
  }

  /** Joins the engine's own JAX-RS application, under /engine-rest with its login filter. */
  @Override
  public void customize(ResourceConfig config) {
    config.register(this);
  }

  public static class NumberRequest {
    public String claim;
  }

  @POST
  @Path("/appeal-numbers")
  @Consumes(MediaType.APPLICATION_JSON)
  public Map<String, String> takeNumber(NumberRequest request) {
    requireNumberingRights();
    String claim = request == null ? null : request.claim;
    if (claim != null && (claim.isBlank() || claim.length() > AppealNumbers.MAX_CLAIM_LENGTH)) {
      throw new InvalidRequestException(Status.BAD_REQUEST, "claim must be a process instance "
          + "id of 1 to " + AppealNumbers.MAX_CLAIM_LENGTH + " characters, not '" + claim + "'");
    }
    return Map.of("number", numbers.take(claim));
  }

  @POST
  @Path("/offline-series")
  public Map<String, Long> takeOfflineSeries() {
    requireNumberingRights();
    return Map.of("series", numbers.takeOfflineSeries());
  }

  private void requireNumberingRights() {
    if (!engine.getProcessEngineConfiguration().isAuthorizationEnabled()) {
      return;
    }
    Authentication user = engine.getIdentityService().getCurrentAuthentication();
    AuthorizationService authorizations = engine.getAuthorizationService();
    boolean allowed = user != null && NUMBERING_PERMISSIONS.stream().anyMatch(permission ->
        authorizations.isUserAuthorized(user.getUserId(), user.getGroupIds(), permission,
            Resources.PROCESS_DEFINITION, APPEAL_PROCESS));
    if (!allowed) {
      throw new InvalidRequestException(Status.FORBIDDEN, "user '"
          + (user == null ? "" : user.getUserId()) + "' may not take appeal numbers: that needs "
          + "CREATE_INSTANCE or UPDATE_INSTANCE on process definition " + APPEAL_PROCESS);
    }
  }
}
