package android.view;

import android.content.Context;

// Compile-only stub of the framework class (API 24); never packaged.
public class View {
    public View(Context context) {}
}
