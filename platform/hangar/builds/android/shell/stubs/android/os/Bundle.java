package android.os;

// Compile-only stub of the framework class (API 24); never packaged.
public final class Bundle {}
