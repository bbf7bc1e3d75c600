import org.camunda.bpm.client.ExternalTaskClient;
import org.camunda.bpm.client.ExternalTaskClientBuilder;

/** Completes every task of one topic with the official Camunda Java client; runs until killed.
 *  args: baseUrl user password mode topic   (mode: default | tuned = maxTasks 100, long poll 20 s)
 *  The same client and settings as ../shared/bench-peers/java-client, topic made an argument. */
public class Bench {
  public static void main(String[] args) {
    String url = args[0], user = args[1], pass = args[2], mode = args[3], topic = args[4];
    ExternalTaskClientBuilder b = ExternalTaskClient.create().baseUrl(url).workerId("java-" + mode);
    b = b.addInterceptor(req -> req.addHeader("Authorization", "Basic " +
        java.util.Base64.getEncoder().encodeToString((user + ":" + pass).getBytes())));
    if (mode.equals("tuned")) {
      b = b.maxTasks(100).asyncResponseTimeout(20000);
    }
    ExternalTaskClient client = b.build();
    client.subscribe(topic).lockDuration(20000)
        .handler((task, service) -> service.complete(task)).open();
  }
}
