package android.app;

import android.content.Context;
import android.os.Bundle;
import android.view.View;

// Compile-only stub of the framework class (API 24); never packaged.
public class Activity extends Context {
    public Activity() {}

    protected void onCreate(Bundle savedInstanceState) {}

    public void setContentView(View view) {}
}
