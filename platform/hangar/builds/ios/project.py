"""Generate the Xcode project of the iOS shell: a WKWebView that loads the bundled www/index.html or a start URL.

Hangar writes the project; an agent on macOS runs ``xcodebuild archive`` and ``-exportArchive``
with the tenant's certificate and provisioning profile (ExportOptions.plist names them). Here
the project is generated and checked for structure only: no iOS build runs on this platform.
The project file is the classic ASCII plist Xcode reads (objectVersion 56, Xcode 14+).
"""

from __future__ import annotations

import hashlib
import io
import json
import plistlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from hangar.builds.android.spec import HangarConnection
from hangar.builds.errors import BuildSpecError

_BUNDLE_ID = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_TARGET = "HangarShell"
APP_ICON_SIZE = 1024  # one universal icon: Xcode 14+ derives every size from it
BUNDLED_START = "www/index.html"


@dataclass(frozen=True)
class IosProjectSpec:
    bundle_id: str
    display_name: str
    version: str  # CFBundleShortVersionString
    build_number: int  # CFBundleVersion
    icon_png: bytes
    connection: HangarConnection
    start_url: str = ""
    web_bundle: dict[str, bytes] = field(default_factory=dict)
    team_id: str = ""
    provisioning_profile: str = ""  # the profile's name, for ExportOptions.plist
    export_method: str = "ad-hoc"


def bundle_id_checked(value: object) -> str:
    """Apple's rule: letters, digits, hyphens and dots, at least two segments, at most 155 characters."""
    if not isinstance(value, str) or len(value) > 155 or not _BUNDLE_ID.match(value):
        raise BuildSpecError("bundle_id must be letters, digits and hyphens in dot-separated segments.",
                             field="bundle_id")  # fmt: skip
    return value


def _object_id(*parts: str) -> str:
    """Xcode's 24-hex-digit object ids, derived from names so one spec always gives one project."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:24].upper()


def _swift_string(value: str) -> str:
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _pbx_string(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_$/:.-]+", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def connection_json(spec: IosProjectSpec) -> str:
    connection = spec.connection
    fields = {"serverURL": connection.server_url, "applicationId": connection.application_id,
              "clientKey": connection.client_key, "startURL": spec.start_url}  # fmt: skip
    return json.dumps(fields, sort_keys=True)


def _sources(spec: IosProjectSpec) -> dict[str, bytes]:
    start = spec.start_url or ""
    # A JavaScript string literal holding the JSON (json.dumps of the text is one), inside a Swift literal.
    bridge = f"window.Hangar = {{ config: function () {{ return {json.dumps(connection_json(spec))}; }} }};"
    app_delegate = """import UIKit

@main
class AppDelegate: UIResponder, UIApplicationDelegate {
    var window: UIWindow?

    func application(_ application: UIApplication,
                     didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]?) -> Bool {
        window = UIWindow(frame: UIScreen.main.bounds)
        window?.rootViewController = ShellViewController()
        window?.makeKeyAndVisible()
        return true
    }
}
"""
    view_controller = f"""import UIKit
import WebKit

/// Hangar's iOS shell: one WKWebView showing the app's web content, connected to its Hangar backend.
final class ShellViewController: UIViewController {{
    static let startURL = {_swift_string(start)}
    static let serverURL = {_swift_string(spec.connection.server_url)}
    static let applicationId = {_swift_string(spec.connection.application_id)}
    static let clientKey = {_swift_string(spec.connection.client_key)}

    private var webView: WKWebView!

    /// The page reads its backend as on Android: JSON.parse(window.Hangar.config()).
    static let bridgeScript = {_swift_string(bridge)}

    override func loadView() {{
        let configuration = WKWebViewConfiguration()
        let bridge = WKUserScript(source: Self.bridgeScript, injectionTime: .atDocumentStart, forMainFrameOnly: true)
        configuration.userContentController.addUserScript(bridge)
        webView = WKWebView(frame: .zero, configuration: configuration)
        view = webView
    }}

    override func viewDidLoad() {{
        super.viewDidLoad()
        if let remote = URL(string: Self.startURL), !Self.startURL.isEmpty {{
            webView.load(URLRequest(url: remote))
        }} else if let page = Bundle.main.url(forResource: "index", withExtension: "html", subdirectory: "www") {{
            webView.loadFileURL(page, allowingReadAccessTo: page.deletingLastPathComponent())
        }}
    }}
}}
"""
    return {"AppDelegate.swift": app_delegate.encode(), "ShellViewController.swift": view_controller.encode()}


def _info_plist(spec: IosProjectSpec) -> bytes:
    info = {
        "CFBundleDevelopmentRegion": "en", "CFBundleExecutable": "$(EXECUTABLE_NAME)",
        "CFBundleIdentifier": "$(PRODUCT_BUNDLE_IDENTIFIER)", "CFBundleInfoDictionaryVersion": "6.0",
        "CFBundleName": "$(PRODUCT_NAME)", "CFBundleDisplayName": spec.display_name,
        "CFBundlePackageType": "APPL", "CFBundleShortVersionString": spec.version,
        "CFBundleVersion": str(spec.build_number), "LSRequiresIPhoneOS": True,
        "UILaunchScreen": {}, "UISupportedInterfaceOrientations": ["UIInterfaceOrientationPortrait"],
    }  # fmt: skip
    return plistlib.dumps(info, sort_keys=True)


def _export_options(spec: IosProjectSpec) -> bytes:
    options: dict[str, object] = {"method": spec.export_method, "signingStyle": "manual"}
    if spec.team_id:
        options["teamID"] = spec.team_id
    if spec.provisioning_profile:
        options["provisioningProfiles"] = {spec.bundle_id: spec.provisioning_profile}
    return plistlib.dumps(options, sort_keys=True)


def _icon_set(icon_png: bytes) -> dict[str, bytes]:
    from PIL import Image

    with Image.open(io.BytesIO(icon_png)) as source:
        image = source.convert("RGB")  # the App Store refuses an app icon with an alpha channel
    out = io.BytesIO()
    image.resize((APP_ICON_SIZE, APP_ICON_SIZE), Image.Resampling.LANCZOS).save(out, format="PNG")
    contents = {"images": [{"filename": "AppIcon.png", "idiom": "universal", "platform": "ios",
                            "size": f"{APP_ICON_SIZE}x{APP_ICON_SIZE}"}],
                "info": {"author": "hangar", "version": 1}}  # fmt: skip
    folder = "Assets.xcassets/AppIcon.appiconset"
    return {
        "Assets.xcassets/Contents.json": json.dumps({"info": {"author": "hangar", "version": 1}}, indent=2).encode(),
        f"{folder}/Contents.json": json.dumps(contents, indent=2).encode(),
        f"{folder}/AppIcon.png": out.getvalue(),
    }


def project_files(spec: IosProjectSpec) -> dict[str, bytes]:
    """Every file of the project by its path under the project folder."""
    bundle_id_checked(spec.bundle_id)
    app = {**_sources(spec), "Info.plist": _info_plist(spec), **_icon_set(spec.icon_png)}
    app["hangar.json"] = connection_json(spec).encode() + b"\n"
    for path, data in spec.web_bundle.items():
        app[f"www/{path}"] = data
    files = {f"{_TARGET}/{path}": data for path, data in app.items()}
    files[f"{_TARGET}.xcodeproj/project.pbxproj"] = _pbxproj(spec).encode()
    files["ExportOptions.plist"] = _export_options(spec)
    return files


def project_write(spec: IosProjectSpec, root: Path) -> list[str]:
    files = project_files(spec)
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return sorted(files)


PbxValue = str | int | list["PbxValue"] | dict[str, "PbxValue"]


def _pbx_value(value: PbxValue) -> str:
    if isinstance(value, dict):
        return "{" + " ".join(f"{key} = {_pbx_value(item)};" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "(" + "".join(f"{_pbx_value(item)}, " for item in value) + ")"
    return str(value) if isinstance(value, int) else _pbx_string(value)


def _pbxproj(spec: IosProjectSpec) -> str:
    """The project file: one app target, its Swift sources, resources and two build configurations."""

    def oid(*parts: str) -> str:
        return _object_id(spec.bundle_id, *parts)

    swift = ["AppDelegate.swift", "ShellViewController.swift"]
    resources = ["Assets.xcassets", "hangar.json", *(["www"] if spec.web_bundle else [])]
    types = {"swift": "sourcecode.swift", "plist": "text.plist.xml", "json": "text.json",
             "xcassets": "folder.assetcatalog", "www": "folder"}  # fmt: skip
    refs = {name: oid("ref", name) for name in [*swift, *resources, "Info.plist"]}
    builds = {name: oid("build", name) for name in [*swift, *resources]}
    product, target, project = oid("product"), oid("target"), oid("project")
    main, app, products = oid("group", "main"), oid("group", "app"), oid("group", "products")
    sources, copies, frameworks = oid("phase", "sources"), oid("phase", "resources"), oid("phase", "frameworks")
    target_list, project_list = oid("list", "target"), oid("list", "project")
    target_settings: dict[str, PbxValue] = {
        "INFOPLIST_FILE": f"{_TARGET}/Info.plist", "PRODUCT_BUNDLE_IDENTIFIER": spec.bundle_id,
        "PRODUCT_NAME": _TARGET, "SWIFT_VERSION": "5.0", "TARGETED_DEVICE_FAMILY": "1,2",
        "IPHONEOS_DEPLOYMENT_TARGET": "15.0", "ASSETCATALOG_COMPILER_APPICON_NAME": "AppIcon",
        "CODE_SIGN_STYLE": "Manual", "DEVELOPMENT_TEAM": spec.team_id, "MARKETING_VERSION": spec.version,
        "CURRENT_PROJECT_VERSION": spec.build_number,
    }  # fmt: skip
    objects: dict[str, dict[str, PbxValue]] = {}
    for name in [*swift, *resources]:
        objects[builds[name]] = {"isa": "PBXBuildFile", "fileRef": refs[name]}
    for name, ref in refs.items():
        kind = types["www" if name == "www" else name.rsplit(".", 1)[-1]]
        objects[ref] = {"isa": "PBXFileReference", "lastKnownFileType": kind, "path": name, "sourceTree": "<group>"}
    objects[product] = {"isa": "PBXFileReference", "explicitFileType": "wrapper.application",
                        "path": f"{_TARGET}.app", "sourceTree": "BUILT_PRODUCTS_DIR"}  # fmt: skip
    objects[main] = {"isa": "PBXGroup", "children": [app, products], "sourceTree": "<group>"}
    objects[app] = {"isa": "PBXGroup", "children": list(refs.values()), "path": _TARGET, "sourceTree": "<group>"}
    objects[products] = {"isa": "PBXGroup", "children": [product], "name": "Products", "sourceTree": "<group>"}
    objects[sources] = {"isa": "PBXSourcesBuildPhase", "files": [builds[n] for n in swift]}
    objects[copies] = {"isa": "PBXResourcesBuildPhase", "files": [builds[n] for n in resources]}
    objects[frameworks] = {"isa": "PBXFrameworksBuildPhase", "files": []}
    objects[target] = {
        "isa": "PBXNativeTarget", "buildConfigurationList": target_list, "buildPhases": [sources, frameworks, copies],
        "name": _TARGET, "productName": _TARGET, "productReference": product,
        "productType": "com.apple.product-type.application",
    }  # fmt: skip
    objects[project] = {
        "isa": "PBXProject", "buildConfigurationList": project_list, "compatibilityVersion": "Xcode 14.0",
        "mainGroup": main, "productRefGroup": products, "projectDirPath": "", "projectRoot": "", "targets": [target],
    }  # fmt: skip
    project_settings: dict[str, PbxValue] = {"SDKROOT": "iphoneos"}
    scopes: list[tuple[str, str, dict[str, PbxValue]]] = [
        (target_list, "target", target_settings), (project_list, "project", project_settings)
    ]  # fmt: skip
    for list_id, scope, build_settings in scopes:
        configs: list[PbxValue] = [oid(scope, "config", name) for name in ("Debug", "Release")]
        for config, name in zip(configs, ("Debug", "Release"), strict=True):
            objects[str(config)] = {"isa": "XCBuildConfiguration", "buildSettings": build_settings, "name": name}
        objects[list_id] = {"isa": "XCConfigurationList", "buildConfigurations": configs,
                            "defaultConfigurationName": "Release"}  # fmt: skip
    body = "\n".join(f"\t\t{key} = {_pbx_value(value)};" for key, value in objects.items())
    header = "// !$*UTF8*$!\n{\n\tarchiveVersion = 1;\n\tclasses = {\n\t};\n\tobjectVersion = 56;\n\tobjects = {\n"
    return f"{header}{body}\n\t}};\n\trootObject = {project};\n}}\n"
