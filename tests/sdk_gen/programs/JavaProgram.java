import dev.hangar.sdk.sdk_app.AppClient;
import dev.hangar.sdk.sdk_app.GeoPoint;
import dev.hangar.sdk.sdk_app.ParseError;
import dev.hangar.sdk.sdk_app.ParseFile;
import dev.hangar.sdk.sdk_app.SessionStore;
import dev.hangar.sdk.sdk_app.Player;
import dev.hangar.sdk.sdk_app.Team;
import dev.hangar.sdk.sdk_app.User;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Drives the generated Java SDK against a live Hangar; exits non-zero on the first wrong answer. */
public class JavaProgram {
    static void check(boolean condition, String what) {
        if (!condition) {
            System.out.println("FAILED: " + what);
            System.exit(1);
        }
    }

    static String names(List<Player> players) {
        return players.stream().map(Player::getName).collect(Collectors.joining(","));
    }

    public static void main(String[] args) {
        AppClient client = new AppClient(System.getenv("HANGAR_URL"), System.getenv("HANGAR_APP_ID"),
                                         System.getenv("HANGAR_CLIENT_KEY"), null);
        User user = client.signUp(new User().setUsername("ada").setEmail("ada@example.com").setNickname("A"), "pw-123456");
        check(user.getObjectId() != null, "sign-up gives an objectId");
        List<Team> teams = client.saveAll(Arrays.asList(new Team().setName("Reds"), new Team().setName("Blues")));
        Team reds = teams.get(0);
        check(reds.getObjectId() != null && teams.get(1).getObjectId() != null, "batch creates both teams");
        ParseFile avatar = client.uploadFile("avatar.txt", "hello file".getBytes(StandardCharsets.UTF_8), "text/plain");
        check(avatar.getUrl() != null && avatar.getName().endsWith("avatar.txt"), "file uploaded");
        Instant born = Instant.parse("1990-05-17T12:00:00Z");
        Player alice = new Player().setName("Alice").setScore(30).setActive(true).setBorn(born)
            .setStats(Map.of("goals", 3)).setTags(Arrays.asList("fast", "left")).setTeam(reds).setOwner(user)
            .setAvatar(avatar).setHome(new GeoPoint(48.85, 2.35)).setBlob(new byte[] {0, 1}).setClass_("A");
        Player bob = new Player().setName("Bob").setScore(10).setActive(false).setTags(Arrays.asList("slow"))
            .setTeam(teams.get(1)).setClass_("B");
        Player carol = new Player().setName("Carol").setScore(20).setActive(true).setTags(Arrays.asList("fast"))
            .setTeam(reds).setClass_("A");
        for (Player p : Arrays.asList(alice, bob, carol)) client.save(p);

        Player read = client.query(Player.CLASS).where(Player.NAME.equalTo("Alice")).include(Player.TEAM).first();
        check(read.getScore() == 30.0 && born.equals(read.getBorn()), "typed read");
        check("Reds".equals(read.getTeam().getName()), "included pointer decoded");
        check(read.getHome().getLatitude() == 48.85 && read.getBlob()[1] == 1 && "A".equals(read.getClass_()),
              "geo, bytes, keyword field");
        check(read.getAvatar().getUrl() != null, "file field");

        check(names(client.query(Player.CLASS).where(Player.SCORE.greaterThan(15)).order(Player.SCORE.descending()).find())
              .equals("Alice,Carol"), "number operator");
        check(names(client.query(Player.CLASS).where(Player.NAME.matches("^B")).find()).equals("Bob"), "string regex");
        check(client.query(Player.CLASS).where(Player.TEAM.equalTo(reds)).count() == 2, "pointer equality count");
        check(names(client.query(Player.CLASS).where(Player.TAGS.containsAll(Arrays.asList("fast")),
                                                     Player.ACTIVE.equalTo(true)).order("name").find())
              .equals("Alice,Carol"), "array $all with boolean");
        check(names(client.query(Player.CLASS).where(Player.HOME.withinKilometers(new GeoPoint(48.86, 2.34), 10)).find())
              .equals("Alice"), "geo query");

        bob.setScore(11);
        client.save(bob);
        check(client.get(Player.CLASS, bob.getObjectId()).getScore() == 11.0, "update");
        client.delete(bob);
        try {
            client.get(Player.CLASS, bob.getObjectId());
            check(false, "deleted object still readable");
        } catch (ParseError error) {
            check(error.getCode() == 101, "deleted object answers 101");
        }

        client.addRelation(read, Player.FANS, Arrays.asList(user));
        List<User> fans = client.query(User.CLASS).relatedTo(read, Player.FANS).find();
        check(fans.size() == 1 && "ada".equals(fans.get(0).getUsername()), "relation added and queried with $relatedTo");
        client.removeRelation(read, Player.FANS, Arrays.asList(user));
        check(client.query(User.CLASS).relatedTo(read, Player.FANS).count() == 0, "relation removed");

        check(client.functions.total(2.5, 4) == 10.0, "typed function total");
        check("Hello Ada".equals(client.functions.greet("Ada")), "typed function greet");
        check(client.functions.teamNames().equals(Arrays.asList("Blues", "Reds")), "function reading data");

        User me = client.currentUser();
        check(me != null && "ada".equals(me.getUsername()) && "A".equals(me.getNickname()), "current user");
        // The session kept in a file: a second client reads it and is logged in too.
        java.nio.file.Path tokenFile;
        try {
            tokenFile = java.nio.file.Files.createTempFile("hangar-session", ".txt");
        } catch (java.io.IOException e) {
            throw new RuntimeException(e);
        }
        SessionStore.InFile stored = new SessionStore.InFile(tokenFile);
        stored.save(client.getSessionStore().load());
        AppClient again = new AppClient(System.getenv("HANGAR_URL"), System.getenv("HANGAR_APP_ID"),
                                        System.getenv("HANGAR_CLIENT_KEY"), null);
        again.setSessionStore(new SessionStore.InFile(tokenFile));
        check("ada".equals(again.currentUser().getUsername()), "session persisted in a file");
        client.logOut();
        check(client.currentUser() == null, "logged out");
        check("ada".equals(client.logIn("ada", "pw-123456").getUsername()), "log in");
        try {
            client.logIn("ada", "wrong");
            check(false, "wrong password accepted");
        } catch (ParseError error) {
            check(error.getCode() == 101, "wrong password is 101");
        }
        System.out.println("java sdk ok");
    }
}
