// The Java twin of ../../../../HangarBridge.smali (tests/builds/test_shell_twin.py compares both).
package app.hangar.shell;

import android.webkit.JavascriptInterface;

public class HangarBridge {
    public static final String CONFIG_JSON = "{}";

    @JavascriptInterface
    public String config() {
        return CONFIG_JSON;
    }
}
