package android.content;

// Compile-only stub of the framework class (API 24); never packaged.
public abstract class Context {}
