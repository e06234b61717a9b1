package android.webkit;

import android.content.Context;
import android.view.View;

// Compile-only stub of the framework class (API 24); never packaged.
public class WebView extends View {
    public WebView(Context context) {
        super(context);
    }

    public WebSettings getSettings() {
        return null;
    }

    public void loadUrl(String url) {}

    public void addJavascriptInterface(Object object, String name) {}
}
