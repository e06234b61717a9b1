// A warm javac for Hangar's SDK generator (sdk_gen/compilers.py): one JVM compiles many SDKs, so each
// compilation after the first skips the JVM's start and the compiler's class loading and JIT warm-up
// (a cold `javac` of a 50-class SDK takes 2-4 CPU seconds, a warm one about 0.4).
//
// Protocol, one request per line on stdin: javac's arguments separated by TAB. One answer per line on
// stdout: the exit code, a TAB, and javac's messages in base64. The process ends when stdin closes
// (its parent went away) or after IDLE_MILLIS without a request.
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

public final class SdkJavac {
    private static volatile long lastUse = System.currentTimeMillis();

    public static void main(String[] args) throws Exception {
        long idleMillis = args.length > 0 ? Long.parseLong(args[0]) * 1000L : 600_000L;
        Thread idle = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(5_000L);
                } catch (InterruptedException e) {
                    return;
                }
                if (System.currentTimeMillis() - lastUse > idleMillis) {
                    System.exit(0);
                }
            }
        });
        idle.setDaemon(true);
        idle.start();
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        String line;
        while ((line = in.readLine()) != null) {
            lastUse = System.currentTimeMillis();
            ByteArrayOutputStream messages = new ByteArrayOutputStream();
            int code;
            try {
                code = javac.run(null, messages, messages, line.split("\t"));
            } catch (RuntimeException e) {
                messages.write(String.valueOf(e).getBytes(StandardCharsets.UTF_8));
                code = 99;
            }
            out.print(code + "\t" + Base64.getEncoder().encodeToString(messages.toByteArray()) + "\n");
            out.flush();
            lastUse = System.currentTimeMillis();
        }
    }
}
