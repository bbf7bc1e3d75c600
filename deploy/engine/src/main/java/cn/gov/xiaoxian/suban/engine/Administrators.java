package cn.gov.xiaoxian.suban.engine;

import jakarta.ws.rs.core.Response.Status;

import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.authorization.Groups;
import org.camunda.bpm.engine.impl.identity.Authentication;
import org.camunda.bpm.engine.rest.exception.InvalidRequestException;

/** The check of the engine's own REST resources that only administrators may call. */
final class Administrators {

  private Administrators() {
  }

  /** Refuses (403) a caller outside the camunda-admin group; {@code what} says what was refused. */
  static void require(IdentityService identityService, String what) {
    Authentication user = identityService.getCurrentAuthentication();
    if (user == null || user.getGroupIds() == null
        || !user.getGroupIds().contains(Groups.CAMUNDA_ADMIN)) {
      throw new InvalidRequestException(Status.FORBIDDEN, "only administrators may " + what);
    }
  }
}
