#!/usr/bin/env bash
# Writes an SPDX 2.3 (JSON) software bill of materials for a built
# camera-agent binary: the agent itself (Apache-2.0, SHA-256 of the file),
# what it links statically (the Embedded Swift runtime of the toolchain that
# built it) and every shared library it needs (DT_NEEDED), each named with
# the Debian package and version that provides it in the sysroot it was
# linked against (the .debs cross/sysroot.sh unpacked, or the host's dpkg for
# x86_64). A vendor sysroot without packages gives NOASSERTION versions.
set -eu

usage="usage: cross/sbom.sh aarch64|armv7|x86_64 [--binary PATH] [--output PATH]"
die() { echo "sbom.sh: error: $*" >&2; exit 1; }
[ $# -ge 1 ] || { echo "$usage" >&2; exit 64; }
case "$1" in
  -h|--help) echo "$usage"; exit 0 ;;
  aarch64) debarch=arm64 ;;
  armv7) debarch=armhf ;;
  x86_64) debarch=host ;;
  *) echo "$usage" >&2; exit 64 ;;
esac
arch=$1
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
binary=$repo/out/$arch/camera-agent
output=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || { echo "$usage" >&2; exit 64; }; binary=$2; shift ;;
    --output) [ $# -ge 2 ] || { echo "$usage" >&2; exit 64; }; output=$2; shift ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
  shift
done
[ -n "$output" ] || output=$binary.spdx.json
[ -f "$binary" ] || die "no binary at $binary (cross/build.sh $arch first)"
command -v readelf >/dev/null || die "readelf missing (apt-get install binutils)"

version=$(sed -n 's/.*public static let string = "\(.*\)".*/\1/p' "$repo/Sources/AgentCore/Version.swift")
[ -n "$version" ] || die "no version in Sources/AgentCore/Version.swift"
swift_version=$(swiftc --version 2>/dev/null | sed -n 's/.*Swift version \([0-9.]*\).*/\1/p' | head -n 1)
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || die "$binary has no DT_NEEDED entries: not a dynamically linked board binary?"

# One "soname package version" line per needed library.
facts=$(mktemp)
trap 'rm -f "$facts"' EXIT
debs=$repo/.cache/sysroot/$debarch/debs
for soname in $needed; do
  package="" pkgversion=""
  if [ "$debarch" = host ]; then
    path=$(ldconfig -p | awk -v s="$soname" '$1 == s { print $NF; exit }')
    # merged /usr: dpkg knows one of the two spellings.
    if [ -n "$path" ] && { owner=$(dpkg -S "$path" 2>/dev/null) || owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null); }; then
      package=${owner%%:*}
      pkgversion=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || true)
    fi
  elif [ -d "$debs" ]; then
    for deb in "$debs"/*.deb; do
      if dpkg-deb -c "$deb" 2>/dev/null | grep "/$soname\$\|/$soname -> " >/dev/null; then
        package=$(dpkg-deb -f "$deb" Package)
        pkgversion=$(dpkg-deb -f "$deb" Version)
        break
      fi
    done
  fi
  echo "$soname ${package:-NOASSERTION} ${pkgversion:-NOASSERTION}" >>"$facts"
done

created=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}" +%Y-%m-%dT%H:%M:%SZ)
sha=$(sha256sum "$binary" | cut -d' ' -f1)
python3 - "$facts" "$output" "$arch" "$version" "$swift_version" "$sha" "$created" <<'EOF'
import json, sys

facts, output, arch, version, swift_version, sha, created = sys.argv[1:]
# Licences of the libraries a camera-agent binary links, as Debian ships them
# (debian/copyright of each source package); anything else is NOASSERTION.
licences = {
    "libc6": "LGPL-2.1-or-later", "libcurl4": "curl", "libssl3": "Apache-2.0",
    "libcurl3-gnutls": "curl", "libgcc-s1": "GPL-3.0-or-later WITH GCC-exception-3.1",
}
packages = [{
    "name": "camera-agent", "SPDXID": "SPDXRef-camera-agent", "versionInfo": version,
    "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
    "checksums": [{"algorithm": "SHA256", "checksumValue": sha}],
    "licenseConcluded": "Apache-2.0", "licenseDeclared": "Apache-2.0",
    "copyrightText": "2026 The camera-agent authors",
    "primaryPackagePurpose": "APPLICATION",
    "comment": f"out/{arch}/camera-agent, Embedded Swift",
}, {
    "name": "swift-embedded-runtime", "SPDXID": "SPDXRef-swift-runtime",
    "versionInfo": swift_version or "NOASSERTION", "downloadLocation": "NOASSERTION",
    "filesAnalyzed": False, "supplier": "Organization: Swift.org",
    "licenseConcluded": "Apache-2.0 WITH Swift-exception", "licenseDeclared": "Apache-2.0 WITH Swift-exception",
    "copyrightText": "NOASSERTION", "primaryPackagePurpose": "LIBRARY",
    "comment": "Embedded Swift standard library and libswiftUnicodeDataTables.a, linked statically",
}]
relationships = [
    {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-camera-agent"},
    {"spdxElementId": "SPDXRef-camera-agent", "relationshipType": "STATIC_LINK", "relatedSpdxElement": "SPDXRef-swift-runtime"},
]
# One package per Debian package (libc6 provides libc.so.6 and the loader).
provided = {}
for line in open(facts):
    soname, package, pkgversion = line.split()
    key = (package, pkgversion) if package != "NOASSERTION" else (soname, pkgversion)
    provided.setdefault(key, []).append(soname)
for (package, pkgversion), sonames in provided.items():
    ident = "SPDXRef-lib-" + "".join(c if c.isalnum() or c in ".-" else "-" for c in package)
    licence = licences.get(package, "NOASSERTION")
    entry = {
        "name": package, "SPDXID": ident,
        "versionInfo": pkgversion, "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
        "licenseConcluded": licence, "licenseDeclared": licence, "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "LIBRARY", "comment": f"provides {' '.join(sonames)} (DT_NEEDED)",
    }
    if package not in sonames:
        entry["supplier"] = "Organization: Debian"
        entry["externalRefs"] = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                  "referenceLocator": f"pkg:deb/debian/{package}@{pkgversion}"}]
    packages.append(entry)
    relationships.append({"spdxElementId": "SPDXRef-camera-agent", "relationshipType": "DYNAMIC_LINK",
                          "relatedSpdxElement": ident})
document = {
    "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
    "name": f"camera-agent-{version}-{arch}",
    "documentNamespace": f"https://spdx.invalid/camera-agent/{version}/{arch}/{sha}",
    "creationInfo": {"created": created, "creators": ["Tool: camera-agent cross/sbom.sh"]},
    "packages": packages, "relationships": relationships,
}
with open(output, "w") as f:
    json.dump(document, f, indent=1, sort_keys=False)
    f.write("\n")
print(f"sbom.sh: {output}: {len(packages)} packages ({', '.join(p['name'] + ' ' + p['versionInfo'] for p in packages)})")
EOF
