import dev.hangar.sdk.sdk_app.AppClient;
import dev.hangar.sdk.sdk_app.Player;
import dev.hangar.sdk.sdk_app.Team;

/** Misuses the generated Java SDK's types: javac must reject every marked line. */
public class JavaMisuse {
    public static void main(String[] args) {
        AppClient client = new AppClient("http://127.0.0.1:1/parse", "key");
        new Player().setScore("ten"); // error
        client.query(Player.CLASS).where(Player.SCORE.matches("^1")); // error
        client.query(Player.CLASS).where(Player.NAME.greaterThan(3)); // error
        client.query(Team.CLASS).where(Player.NAME.equalTo("x")); // error
        client.functions.total(4, "2"); // error
    }
}
