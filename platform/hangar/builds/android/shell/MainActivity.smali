# Hangar's Android shell: one Activity holding a WebView that loads the app's start page.
# Rendered per build (the {{...}} constants); keep it in step with java/app/hangar/shell/MainActivity.java,
# its twin, which tests/builds compiles with javac and compares with this file's references.
.class public Lapp/hangar/shell/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"

.field public static final START_URL:Ljava/lang/String; = "{{START_URL}}"

.field public static final SERVER_URL:Ljava/lang/String; = "{{SERVER_URL}}"

.field public static final APPLICATION_ID:Ljava/lang/String; = "{{APPLICATION_ID}}"

.field public static final CLIENT_KEY:Ljava/lang/String; = "{{CLIENT_KEY}}"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 5
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    new-instance v0, Landroid/webkit/WebView;
    invoke-direct {v0, p0}, Landroid/webkit/WebView;-><init>(Landroid/content/Context;)V
    invoke-virtual {v0}, Landroid/webkit/WebView;->getSettings()Landroid/webkit/WebSettings;
    move-result-object v1
    const/4 v2, 0x1
    invoke-virtual {v1, v2}, Landroid/webkit/WebSettings;->setJavaScriptEnabled(Z)V
    invoke-virtual {v1, v2}, Landroid/webkit/WebSettings;->setDomStorageEnabled(Z)V
    new-instance v1, Lapp/hangar/shell/HangarBridge;
    invoke-direct {v1}, Lapp/hangar/shell/HangarBridge;-><init>()V
    const-string v3, "Hangar"
    invoke-virtual {v0, v1, v3}, Landroid/webkit/WebView;->addJavascriptInterface(Ljava/lang/Object;Ljava/lang/String;)V
    invoke-virtual {p0, v0}, Lapp/hangar/shell/MainActivity;->setContentView(Landroid/view/View;)V
    const-string v3, "{{START_URL}}"
    invoke-virtual {v0, v3}, Landroid/webkit/WebView;->loadUrl(Ljava/lang/String;)V
    return-void
.end method
