"""iOS: the Xcode project of a WKWebView shell, generated here; building it needs a macOS agent with Xcode."""
