package android.webkit;

// Compile-only stub of the framework class (API 24); never packaged.
public abstract class WebSettings {
    public abstract void setJavaScriptEnabled(boolean flag);

    public abstract void setDomStorageEnabled(boolean flag);
}
