# What the shell's page reads of its backend: window.Hangar.config() answers the connection as JSON.
# Rendered per build ({{CONFIG_JSON}}); its Java twin is java/app/hangar/shell/HangarBridge.java.
.class public Lapp/hangar/shell/HangarBridge;
.super Ljava/lang/Object;
.source "HangarBridge.java"

.field public static final CONFIG_JSON:Ljava/lang/String; = "{{CONFIG_JSON}}"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public config()Ljava/lang/String;
    .registers 2
    .annotation runtime Landroid/webkit/JavascriptInterface;
    .end annotation
    const-string v0, "{{CONFIG_JSON}}"
    return-object v0
.end method
