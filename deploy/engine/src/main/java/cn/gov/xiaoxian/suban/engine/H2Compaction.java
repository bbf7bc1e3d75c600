package cn.gov.xiaoxian.suban.engine;

import java.io.File;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import jakarta.annotation.PreDestroy;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.camunda.bpm.engine.IdentityService;
import org.glassfish.jersey.server.ResourceConfig;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.jersey.ResourceConfigCustomizer;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Keeps the embedded H2 file from growing without end.
 *
 * <p>H2 writes each commit as a new chunk of pages ({@code WRITE_DELAY=0}, kept so that a killed
 * engine forgets no confirmed appeal). A chunk's space is reused only once none of its pages is
 * live, and most chunks keep a few live pages for good. The thread that rewrites such sparse
 * chunks is H2's background writer, which {@code WRITE_DELAY=0} does not start (h2database#442):
 * the file grew by about 11 MB per closed appeal, 44 GB for 4,000 (docs/performance.md). Every
 * 15 seconds this component looks at the chunks, and when their pages fill less than 40 % of
 * them it rewrites the live pages of the sparsest, a little at a time, towards half full; the
 * emptied chunks are reused by later commits, and the file stops growing
 * (bench/history_growth.py prints its size).
 *
 * <p>{@code GET /engine-rest/suban/h2-store} (administrators) shows the file and its fill;
 * {@code POST} runs a round at once (tests, and an administrator who wants it now). PostgreSQL
 * keeps its own house (autovacuum): nothing runs there.
 */
@Component
@Path("/suban/h2-store")
@Produces(MediaType.APPLICATION_JSON)
public class H2Compaction implements ResourceConfigCustomizer {

  private static final Logger LOG = LoggerFactory.getLogger(H2Compaction.class);

  /** A round starts when the chunks' pages fill less than this share of them (percent)... */
  static final int START_FILL_RATE = 40;
  /** ...and rewrites chunks until their pages fill this share of them. */
  static final int TARGET_FILL_RATE = 50;
  /**
   * Live bytes rewritten per step. A step holds H2's store lock while it reads the pages (from
   * disk, if old) and writes them, and every commit of the engine waits for that lock: 4 MB
   * steps, 32 to a round, tripled a filled engine's intake p95 while they ran.
   */
  static final int BYTES_PER_STEP = 1024 * 1024;
  /**
   * At most this many steps per round: the chunks a step empties count as empty only once H2
   * has dropped them (after its 45-second retention time), so until then the fill stays low
   * and more steps would rewrite pages that need it least.
   */
  static final int STEPS_PER_ROUND = 16;
  /** A round stops after this long, so that it never holds the disk for long. */
  static final int SECONDS_PER_ROUND = 5;
  static final int BUSY_PAUSE_MILLIS = 20;
  /** A round that finds the chunks full enough costs next to nothing: look often. */
  static final long ROUND_INTERVAL_SECONDS = 15;

  private final DataSource dataSource;
  private final IdentityService identityService;
  private final AtomicLong rounds = new AtomicLong();
  private final AtomicLong steps = new AtomicLong();
  private ScheduledExecutorService schedule;
  private MVStore h2Store;
  private boolean storeLookedUp;

  public H2Compaction(DataSource dataSource, IdentityService identityService) {
    this.dataSource = dataSource;
    this.identityService = identityService;
  }

  @EventListener(ApplicationReadyEvent.class)
  public void start() {
    if (store() == null) {
      return;
    }
    schedule = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "suban-h2-compaction");
      thread.setDaemon(true);
      return thread;
    });
    schedule.scheduleWithFixedDelay(this::compactQuietly,
        ROUND_INTERVAL_SECONDS, ROUND_INTERVAL_SECONDS, TimeUnit.SECONDS);
  }

  @PreDestroy
  public void stop() {
    if (schedule != null) {
      schedule.shutdownNow();
    }
  }

  private void compactQuietly() {
    try {
      compact();
    } catch (RuntimeException e) {
      // A failed round leaves the file as it was; the next round tries again.
      LOG.warn("H2 compaction round failed; the next one tries again", e);
    }
  }

  /**
   * One round: rewrites the live pages of the sparsest chunks, step by step, until the chunks
   * are filled to the target, for at most a round's steps and time. A step that finds H2's
   * store lock taken (the engine is committing) is tried again a moment later.
   */
  synchronized int compact() {
    MVStore store = store();
    if (store == null) {
      return 0;
    }
    if (store.getFileStore().getChunksFillRate() >= START_FILL_RATE) {
      return 0;
    }
    long stopAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS_PER_ROUND);
    int done = 0;
    while (done < STEPS_PER_ROUND
        && store.getFileStore().getChunksFillRate() < TARGET_FILL_RATE
        && System.nanoTime() < stopAt) {
      if (store.compact(TARGET_FILL_RATE, BYTES_PER_STEP)) {
        store.commit(); // the rewritten pages reach the file now, not with the next transaction
        done++;
      } else {
        pause();
      }
    }
    rounds.incrementAndGet();
    steps.addAndGet(done);
    return done;
  }

  private static void pause() {
    try {
      Thread.sleep(BUSY_PAUSE_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The H2 store behind the engine's data source, or null when the database is not H2: looked
   * up once, since the engine keeps one database for its life. */
  private synchronized MVStore store() {
    if (!storeLookedUp) {
      h2Store = lookUpStore();
      storeLookedUp = true;
    }
    return h2Store;
  }

  private MVStore lookUpStore() {
    try (Connection connection = dataSource.getConnection()) {
      if (!connection.isWrapperFor(JdbcConnection.class)) {
        return null;
      }
      JdbcConnection h2 = connection.unwrap(JdbcConnection.class);
      if (!(h2.getSession() instanceof SessionLocal session)) {
        return null; // an H2 server elsewhere compacts its own file
      }
      var database = session.getDatabase();
      return database.getStore() == null ? null : database.getStore().getMvStore();
    } catch (SQLException e) {
      throw new IllegalStateException("could not reach the engine's database", e);
    }
  }

  @Override
  public void customize(ResourceConfig config) {
    config.register(this);
  }

  @GET
  public Map<String, Object> describe() {
    Administrators.require(identityService, "read or compact the engine's H2 store");
    return figures(store(), 0);
  }

  @POST
  public Map<String, Object> compactNow() {
    Administrators.require(identityService, "read or compact the engine's H2 store");
    int done = compact();
    return figures(store(), done);
  }

  private Map<String, Object> figures(MVStore store, int stepsJustDone) {
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("h2", store != null);
    if (store != null) {
      figures.put("fileBytes", new File(store.getFileStore().getFileName()).length());
      figures.put("chunksFillRate", store.getFileStore().getChunksFillRate());
      figures.put("fillRate", store.getFillRate());
      figures.put("startFillRate", START_FILL_RATE);
      figures.put("targetFillRate", TARGET_FILL_RATE);
      figures.put("steps", stepsJustDone);
      figures.put("roundsSinceStart", rounds.get());
      figures.put("stepsSinceStart", steps.get());
    }
    return figures;
  }
}
