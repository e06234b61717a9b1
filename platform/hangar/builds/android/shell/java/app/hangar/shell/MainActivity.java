// The Java twin of ../../../../MainActivity.smali: the same calls, checked by javac against the
// compile-only stubs in ../../../../stubs (tests/builds/test_shell_twin.py compares both).
package app.hangar.shell;

import android.app.Activity;
import android.os.Bundle;
import android.webkit.WebSettings;
import android.webkit.WebView;

public class MainActivity extends Activity {
    public static final String START_URL = "file:///android_asset/www/index.html";
    public static final String SERVER_URL = "";
    public static final String APPLICATION_ID = "";
    public static final String CLIENT_KEY = "";

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        WebView view = new WebView(this);
        WebSettings settings = view.getSettings();
        settings.setJavaScriptEnabled(true);
        settings.setDomStorageEnabled(true);
        view.addJavascriptInterface(new HangarBridge(), "Hangar");
        setContentView(view);
        view.loadUrl(START_URL);
    }
}
