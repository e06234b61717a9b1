"""Android builds: the WebView shell (a smali template Hangar owns) and the toolchains that make it an APK."""
