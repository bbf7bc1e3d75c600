package cn.gov.xiaoxian.suban.engine;

import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import org.springframework.beans.factory.InitializingBean;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Appeal numbers such as XS20261127-0001 (the day in the county's time, then the day's count),
 * counted in the engine's database: every engine node shares it, so two nodes, their workers
 * and the console never hand out one number twice. Also counts the consoles' offline series
 * (XS20261127-L1-0001), each console's own numbers for appeals taken while no engine answers.
 *
 * <p>A counter is a row of SUBAN_COUNTER raised by UPDATE in a short transaction: the row lock
 * makes concurrent takers wait for each other, on H2 and PostgreSQL alike, and a rolled-back
 * transaction gives its number back. A database sequence would do for the count but not per
 * day, and the engine's id generator hands out blocks per node, not one count a day.
 */
@Component
public class AppealNumbers implements InitializingBean {

  static final String PREFIX = "XS";
  static final ZoneId COUNTY_TIME = ZoneId.of("Asia/Shanghai");
  static final String OFFLINE_SERIES = "offline-series";
  /** Longest claim: a process instance id (a UUID is 36 characters). */
  static final int MAX_CLAIM_LENGTH = 64;
  /** Two nodes may create the day's counter, or record one claim, at the same moment: the
   * loser's transaction rolls back on the duplicate key and the next attempt finds the row. */
  private static final int ATTEMPTS = 3;
  private static final DateTimeFormatter DAY = DateTimeFormatter.BASIC_ISO_DATE;

  static final List<String> TABLES = List.of(
      "CREATE TABLE IF NOT EXISTS SUBAN_COUNTER ("
          + "NAME_ VARCHAR(64) NOT NULL PRIMARY KEY, VALUE_ BIGINT NOT NULL)",
      "CREATE TABLE IF NOT EXISTS SUBAN_APPEAL_NUMBER_CLAIM ("
          + "CLAIM_ VARCHAR(" + MAX_CLAIM_LENGTH + ") NOT NULL PRIMARY KEY, "
          + "NUMBER_ VARCHAR(32) NOT NULL)");

  private final JdbcTemplate jdbc;
  private final TransactionTemplate transactions;
  private final Clock clock;

  public AppealNumbers(DataSource dataSource, PlatformTransactionManager transactionManager) {
    this.jdbc = new JdbcTemplate(dataSource);
    this.transactions = new TransactionTemplate(transactionManager);
    this.clock = Clock.system(COUNTY_TIME);
  }

  @Override
  public void afterPropertiesSet() {
    TABLES.forEach(jdbc::execute);
  }

  /**
   * The next number of today; with a claim (a process instance id), the number that claim got
   * before, if any: a redelivered task gets its first number again instead of burning one.
   */
  public String take(String claim) {
    return retryingDuplicates(() -> claim == null ? nextNumber() : claimedNumber(claim));
  }

  /** A new offline series for a console: no other console ever gets it. */
  public long takeOfflineSeries() {
    return retryingDuplicates(() -> raise(OFFLINE_SERIES, () -> 1));
  }

  private <T> T retryingDuplicates(Supplier<T> work) {
    for (int attempt = 1; ; attempt++) {
      try {
        return transactions.execute(status -> work.get());
      } catch (DuplicateKeyException e) {
        if (attempt == ATTEMPTS) {
          throw e;
        }
      }
    }
  }

  private String claimedNumber(String claim) {
    List<String> given = jdbc.queryForList(
        "SELECT NUMBER_ FROM SUBAN_APPEAL_NUMBER_CLAIM WHERE CLAIM_ = ?", String.class, claim);
    if (!given.isEmpty()) {
      return given.get(0);
    }
    String number = nextNumber();
    jdbc.update("INSERT INTO SUBAN_APPEAL_NUMBER_CLAIM (CLAIM_, NUMBER_) VALUES (?, ?)",
        claim, number);
    return number;
  }

  private String nextNumber() {
    String day = LocalDate.now(clock).format(DAY);
    long count = raise("appeal-number-" + day, () -> highestNumberInHistory(day) + 1);
    return String.format("%s%s-%04d", PREFIX, day, count);
  }

  /** Raises the counter by one (creating it at `first`) and returns its new value. */
  private long raise(String counter, LongSupplier first) {
    int raised = jdbc.update("UPDATE SUBAN_COUNTER SET VALUE_ = VALUE_ + 1 WHERE NAME_ = ?",
        counter);
    if (raised == 0) {
      jdbc.update("INSERT INTO SUBAN_COUNTER (NAME_, VALUE_) VALUES (?, ?)", counter,
          first.getAsLong());
    }
    return jdbc.queryForObject("SELECT VALUE_ FROM SUBAN_COUNTER WHERE NAME_ = ?", Long.class,
        counter);
  }

  /**
   * The highest number of `day` that appeals in the engine already carry. Before this counter,
   * each host counted on its own (data/appeal_numbers.sqlite): a day's counter created on the
   * day of the upgrade starts after the numbers those counters gave.
   */
  private long highestNumberInHistory(String day) {
    Pattern ofThisDay = Pattern.compile(Pattern.quote(PREFIX + day + "-") + "(\\d{1,9})");
    return jdbc.queryForList("SELECT TEXT_ FROM ACT_HI_VARINST "
            + "WHERE NAME_ = 'appealNumber' AND TEXT_ LIKE ?", String.class, PREFIX + day + "-%")
        .stream()
        .map(ofThisDay::matcher)
        .filter(Matcher::matches)
        .mapToLong(found -> Long.parseLong(found.group(1)))
        .max()
        .orElse(0);
  }
}
