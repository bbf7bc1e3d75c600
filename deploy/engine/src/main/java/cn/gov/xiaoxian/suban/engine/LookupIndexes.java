package cn.gov.xiaoxian.suban.engine;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.ProcessEngineException;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Indexes the engine's schema lacks for lookups made on every appeal:
 * <ul>
 *   <li>the repeat check of `register-appeal` asks the history for the caller's phone among
 *   historic variables (NAME_ = 'callerPhone' AND TEXT_ = ?), which without an index on the
 *   value reads every variable of every appeal in the table;</li>
 *   <li>H2 only: fetch-and-lock reads each task's variables by execution and name; on H2 that
 *   query's cost grew with the number of running appeals (half of the engine's busy threads sat
 *   in it at 5 appeals/s) and fell away with this index. PostgreSQL has an index on
 *   EXECUTION_ID_.</li>
 * </ul>
 *
 * Created after the engine has made or updated its schema, before it serves requests.
 * PostgreSQL gets a hash index: a B-tree entry is limited to about 2.7 kB and a text variable
 * may hold 4,000 characters (12 kB in UTF-8).
 */
@Component
public class LookupIndexes extends AbstractProcessEnginePlugin {

  private static final Logger LOG = LoggerFactory.getLogger(LookupIndexes.class);

  static final Map<String, List<String>> INDEXES = Map.of(
      "h2", List.of(
          "CREATE INDEX IF NOT EXISTS SUBAN_IDX_HI_VAR_NAME_TEXT ON ACT_HI_VARINST (NAME_, TEXT_)",
          "CREATE INDEX IF NOT EXISTS SUBAN_IDX_VAR_EXE_NAME ON ACT_RU_VARIABLE (EXECUTION_ID_, NAME_)"),
      "postgres", List.of(
          "CREATE INDEX IF NOT EXISTS SUBAN_IDX_HI_VAR_TEXT ON ACT_HI_VARINST USING hash (TEXT_)"));

  @Override
  public void postProcessEngineBuild(ProcessEngine processEngine) {
    ProcessEngineConfigurationImpl configuration =
        (ProcessEngineConfigurationImpl) processEngine.getProcessEngineConfiguration();
    List<String> statements = INDEXES.get(configuration.getDatabaseType());
    if (statements == null) {
      LOG.warn("No lookup indexes for database type '{}': repeat checks will scan the "
          + "historic variables.", configuration.getDatabaseType());
      return;
    }
    try (Connection connection = configuration.getDataSource().getConnection();
         Statement sql = connection.createStatement()) {
      for (String statement : statements) {
        sql.execute(statement);
      }
      if (!connection.getAutoCommit()) {
        connection.commit();
      }
    } catch (SQLException e) {
      throw new ProcessEngineException("could not create the lookup indexes " + statements, e);
    }
  }
}
