#!/usr/bin/env bash
# Throw-away Debian chroots (bookworm by default, or any suite debootstrap knows, such as
# trixie) for installing built .debs with apt.
#
# A pristine minbase chroot (debootstrap, plus python3 so installs are quick) is
# created once at ${PY2DEB_CHROOT:-/var/cache/py2deb-test/bookworm} and reused as
# long as it is healthy. Every test gets its own disposable instance of it: an
# overlayfs mount when the kernel allows it (near-instant), otherwise a `cp -a`
# copy. The pristine tree is never modified by tests.
#
# Usage as a command (needs root):
#   scripts/chroot.sh create                    make or check the pristine chroot
#   scripts/chroot.sh recreate                  throw it away and build it again
#   scripts/chroot.sh install DEBDIR PKG...     fresh instance, flat repo from DEBDIR,
#                                               apt-get install PKG..., then a shell
#                                               command from $CHROOT_CMD if set
#   scripts/chroot.sh shell [DEBDIR]            interactive shell in a fresh instance
#   scripts/chroot.sh selftest                  build a tiny python3-hello by hand,
#                                               install it through the flat repo, run it
#
# Usage as a library (`source scripts/chroot.sh`), all functions need root:
#   chroot_ensure                  pristine chroot exists and is healthy
#   chroot_new; inst=$CHROOT_ROOT  new instance, path left in $CHROOT_ROOT;
#                                  mounts /proc, /dev and the shared apt cache
#   chroot_repo "$inst" DEBDIR     copy DEBDIR/*.deb to /repo, index it, point apt at it
#   chroot_run "$inst" CMD...      run a command inside (env cleaned, noninteractive)
#   chroot_apt "$inst" ARGS...     apt-get -y ARGS inside, serialised with other instances
#   chroot_destroy "$inst"         unmount everything and delete the instance
#   chroot_cleanup_all             destroy every instance made by this shell or its
#                                  subshells (use in an EXIT trap)
#
# Environment:
#   PY2DEB_CHROOT_SUITE   Debian suite of the chroot (default bookworm); each suite has its own
#                         pristine tree, tarball and apt cache, so suites never mix
#   PY2DEB_CHROOT         pristine chroot path (default /var/cache/py2deb-test/$PY2DEB_CHROOT_SUITE)
#   PY2DEB_MIRROR         Debian mirror (default http://deb.debian.org/debian)
#   PY2DEB_CHROOT_COPY    force the instance method: overlay | copy (default: auto)

set -euo pipefail

CHROOT_SUITE=${PY2DEB_CHROOT_SUITE:-bookworm}
[[ $CHROOT_SUITE =~ ^[a-z][a-z0-9-]*$ ]] || { printf 'chroot: error: PY2DEB_CHROOT_SUITE=%q is not a suite name\n' "$CHROOT_SUITE" >&2; exit 1; }
CHROOT_PRISTINE=${PY2DEB_CHROOT:-/var/cache/py2deb-test/$CHROOT_SUITE}
CHROOT_MIRROR=${PY2DEB_MIRROR:-http://deb.debian.org/debian}
# Everything else lives beside the pristine tree so `cp -a` and overlay stay on one filesystem.
CHROOT_CACHE=$(dirname "$CHROOT_PRISTINE")
CHROOT_INCLUDE=python3
# Downloaded .debs shared between instances, so a dependency such as python3-requests
# is fetched from the archive once per machine rather than once per test.
# Bookworm keeps the historical name so existing caches stay warm.
if [[ $CHROOT_SUITE == bookworm ]]; then
    CHROOT_APT_CACHE=$CHROOT_CACHE/apt-archives
else
    CHROOT_APT_CACHE=$CHROOT_CACHE/apt-archives-$CHROOT_SUITE
fi
# Package lists older than this are refreshed in the pristine tree: after a point
# release the archive drops superseded .debs and installs from stale lists would 404.
CHROOT_LISTS_MAX_AGE=$((12 * 3600))
# Marker written only after a fully successful creation; its absence means "broken".
CHROOT_MARKER=.py2deb-pristine

# Instances made by this shell and its subshells ($$ is the same in all of them), so a
# trap can clean up even instances created inside $(...) or ( ... ).
_chroot_registry() { printf '%s/run/registry.%s' "$CHROOT_CACHE" "$$"; }

_chlog() { printf 'chroot: %s\n' "$*" >&2; }
_chdie() { printf 'chroot: error: %s\n' "$*" >&2; exit 1; }

_chroot_need_root() {
    [[ $(id -u) -eq 0 ]] || _chdie "must run as root (debootstrap, mount and chroot need it)"
    command -v debootstrap >/dev/null || _chdie "debootstrap is not installed (apt-get install debootstrap)"
}

# The tarball name encodes what is in it, so changing the include list never reuses a stale one.
_chroot_tarball() {
    printf '%s/%s-minbase-%s-%s.tgz' "$CHROOT_CACHE" "$CHROOT_SUITE" "${CHROOT_INCLUDE//,/_}" "$(dpkg --print-architecture)"
}

_chroot_healthy() {
    [[ -f $CHROOT_PRISTINE/$CHROOT_MARKER ]] || return 1
    [[ $(cat "$CHROOT_PRISTINE/$CHROOT_MARKER") == "$CHROOT_SUITE $CHROOT_INCLUDE" ]] || return 1
    # A cheap functional probe: the interpreter and apt both start.
    chroot "$CHROOT_PRISTINE" /usr/bin/python3 -c 'import sys' >/dev/null 2>&1 || return 1
    chroot "$CHROOT_PRISTINE" /usr/bin/apt-get --version >/dev/null 2>&1 || return 1
}

# Run apt-get update inside the pristine tree (bind /proc and /dev briefly, then undo).
_chroot_pristine_update() {
    local root=$CHROOT_PRISTINE rc=0
    mount -t proc proc "$root/proc"
    mount --bind /dev "$root/dev"
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        apt-get -q update >/dev/null || rc=$?
    # Downloaded indexes stay; the .debs cache does not belong in the pristine tree.
    chroot "$root" /usr/bin/apt-get clean || true
    umount "$root/dev"
    umount "$root/proc"
    return "$rc"
}

chroot_ensure() {
    _chroot_need_root
    mkdir -p "$CHROOT_CACHE" "$CHROOT_APT_CACHE/partial"
    # Two test runs starting together must not both debootstrap into the same directory.
    local fd rc=0
    exec {fd}>"$CHROOT_CACHE/.ensure-lock"
    flock -w 1800 "$fd" || { _chlog "timed out waiting for another run to prepare the chroot"; return 1; }
    _chroot_ensure_locked || rc=$?
    exec {fd}>&-
    return "$rc"
}

_chroot_ensure_locked() {
    if _chroot_healthy; then
        local lists=$CHROOT_PRISTINE/var/lib/apt/lists age
        age=$(($(date +%s) - $(stat -c %Y "$lists")))
        if ((age > CHROOT_LISTS_MAX_AGE)); then
            _chlog "package lists are $((age / 3600))h old, refreshing"
            _chroot_pristine_update
            touch "$lists"
        fi
        return 0
    fi
    if [[ -e $CHROOT_PRISTINE ]]; then
        _chlog "existing $CHROOT_PRISTINE is incomplete or outdated, rebuilding"
        _chroot_rm_tree "$CHROOT_PRISTINE"
    fi
    local tarball t0 tmp
    tarball=$(_chroot_tarball)
    t0=$(date +%s)
    if [[ ! -s $tarball ]]; then
        _chlog "downloading $CHROOT_SUITE minbase (+$CHROOT_INCLUDE) into $tarball"
        tmp=$(mktemp -d "$CHROOT_CACHE/tarball.XXXXXX")
        # --make-tarball only downloads and verifies; the tarball makes later rebuilds offline.
        debootstrap --variant=minbase --include="$CHROOT_INCLUDE" --make-tarball="$tarball.part" \
            "$CHROOT_SUITE" "$tmp" "$CHROOT_MIRROR" >"$CHROOT_CACHE/debootstrap-download-$CHROOT_SUITE.log" 2>&1 \
            || { rm -rf "$tmp"; _chdie "debootstrap download failed, see $CHROOT_CACHE/debootstrap-download-$CHROOT_SUITE.log"; }
        rm -rf "$tmp"
        mv "$tarball.part" "$tarball"
    fi
    _chlog "debootstrapping $CHROOT_PRISTINE"
    debootstrap --variant=minbase --include="$CHROOT_INCLUDE" --unpack-tarball="$tarball" \
        "$CHROOT_SUITE" "$CHROOT_PRISTINE" "$CHROOT_MIRROR" >"$CHROOT_CACHE/debootstrap-$CHROOT_SUITE.log" 2>&1 \
        || _chdie "debootstrap failed, see $CHROOT_CACHE/debootstrap-$CHROOT_SUITE.log"
    # debootstrap leaves the mirror it used in sources.list; state it explicitly anyway so the
    # file is the same whatever debootstrap version wrote it.
    printf 'deb %s %s main\n' "$CHROOT_MIRROR" "$CHROOT_SUITE" >"$CHROOT_PRISTINE/etc/apt/sources.list"
    # Minimal images do not need man pages or translations; keeping installs lean also keeps
    # the per-test instances small.
    cat >"$CHROOT_PRISTINE/etc/apt/apt.conf.d/90py2deb-test" <<'EOF'
Acquire::Languages "none";
APT::Install-Recommends "false";
Dpkg::Use-Pty "false";
EOF
    # Never start daemons from maintainer scripts inside a test chroot.
    printf '#!/bin/sh\nexit 101\n' >"$CHROOT_PRISTINE/usr/sbin/policy-rc.d"
    chmod 755 "$CHROOT_PRISTINE/usr/sbin/policy-rc.d"
    _chroot_pristine_update || _chdie "apt-get update failed in the pristine chroot"
    printf '%s %s' "$CHROOT_SUITE" "$CHROOT_INCLUDE" >"$CHROOT_PRISTINE/$CHROOT_MARKER"
    _chlog "pristine chroot ready in $(($(date +%s) - t0))s ($(du -sh "$CHROOT_PRISTINE" | cut -f1))"
}

_chroot_overlay_ok() {
    case ${PY2DEB_CHROOT_COPY:-auto} in
        overlay) return 0 ;;
        copy) return 1 ;;
    esac
    # Probe once: overlayfs is unavailable in some containers and on some upper filesystems.
    if [[ -z ${_CHROOT_OVERLAY_PROBED:-} ]]; then
        local p
        p=$(mktemp -d "$CHROOT_CACHE/probe.XXXXXX")
        mkdir "$p/l" "$p/u" "$p/w" "$p/m"
        if mount -t overlay overlay -o "lowerdir=$p/l,upperdir=$p/u,workdir=$p/w" "$p/m" 2>/dev/null; then
            umount "$p/m"
            _CHROOT_OVERLAY_PROBED=yes
        else
            _CHROOT_OVERLAY_PROBED=no
        fi
        rm -rf "$p"
    fi
    [[ $_CHROOT_OVERLAY_PROBED == yes ]]
}

# Create a disposable instance of the pristine chroot; its root directory is left in
# CHROOT_ROOT. Release it with chroot_destroy (or chroot_cleanup_all in a trap).
chroot_new() {
    _chroot_need_root
    [[ -f $CHROOT_PRISTINE/$CHROOT_MARKER ]] || { _chlog "no pristine chroot, run chroot_ensure first"; return 1; }
    mkdir -p "$CHROOT_CACHE/run"
    local d root
    d=$(mktemp -d "$CHROOT_CACHE/run/inst.XXXXXX") || return 1
    root=$d/root
    mkdir "$root"
    # Register before mounting anything so a failure half-way is still cleaned up.
    printf '%s\n' "$root" >>"$(_chroot_registry)"
    # Every step is checked explicitly: callers may run this where `set -e` is suspended.
    if _chroot_overlay_ok; then
        mkdir "$d/upper" "$d/work"
        mount -t overlay overlay -o "lowerdir=$CHROOT_PRISTINE,upperdir=$d/upper,workdir=$d/work" "$root" \
            || { _chlog "overlay mount failed"; return 1; }
    else
        cp -a "$CHROOT_PRISTINE/." "$root/" || { _chlog "copying the pristine chroot failed"; return 1; }
    fi
    mount -t proc proc "$root/proc" || return 1
    # Host /dev (read-write) is what debootstrap's own chroots use; minbase /dev may lack nodes
    # inside containers. Destruction unmounts it before any file is deleted.
    mount --bind /dev "$root/dev" || return 1
    mount --bind "$CHROOT_APT_CACHE" "$root/var/cache/apt/archives" || return 1
    CHROOT_ROOT=$root
}

chroot_run() {
    local root=$1
    shift
    chroot "$root" /usr/bin/env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"
}

# apt-get inside an instance. The downloaded-.deb cache is shared by every instance on the
# machine (several test runs may go on at once), and apt refuses to start while another apt
# holds that cache's lock; flock makes concurrent runs queue instead of failing.
chroot_apt() {
    local root=$1
    shift
    flock -w 900 "$CHROOT_APT_CACHE/.py2deb-lock" \
        chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive apt-get -q -y "$@"
}

# Make DEBDIR's .debs an apt source inside the instance: a flat repository at /repo.
# Only the new source is fetched, the archive's lists come from the pristine tree.
chroot_repo() {
    local root=$1 debdir=$2
    compgen -G "$debdir/*.deb" >/dev/null || { _chlog "no .deb files in $debdir"; return 1; }
    mkdir -p "$root/repo" && cp -- "$debdir"/*.deb "$root/repo/" || return 1
    # Run the indexer on the host: the chroot has no apt-utils, and it must stay minimal.
    (cd "$root/repo" && apt-ftparchive packages . >Packages) || { _chlog "apt-ftparchive failed on $debdir"; return 1; }
    chmod -R a+rX "$root/repo" || return 1
    printf 'deb [trusted=yes] file:/repo ./\n' >"$root/etc/apt/sources.list.d/py2deb-local.list" || return 1
    chroot_run "$root" apt-get -q update \
        -o Dir::Etc::sourcelist=sources.list.d/py2deb-local.list \
        -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >/dev/null
}

# Remove a directory tree without ever crossing into a mount point (e.g. a forgotten /dev bind).
_chroot_rm_tree() {
    local t=$1
    if findmnt -rn -o TARGET | grep -qF -- "$t/"; then
        _chlog "refusing to delete $t: something is still mounted below it"
        return 1
    fi
    rm -rf --one-file-system -- "$t"
}

chroot_destroy() {
    local root=$1 m rc=0
    # Deepest mounts first; `sort -r` on the paths puts children before parents.
    while read -r m; do
        [[ -n $m ]] || continue
        umount "$m" 2>/dev/null || umount -l "$m" || rc=1
    done < <(findmnt -rn -o TARGET | awk -v r="$root" '$0 == r || index($0, r "/") == 1' | sort -r)
    [[ $rc -eq 0 ]] || { _chlog "could not unmount everything under $root, leaving it"; return 1; }
    _chroot_rm_tree "$(dirname "$root")"
}

chroot_cleanup_all() {
    local reg r rc=0
    reg=$(_chroot_registry)
    [[ -f $reg ]] || return 0
    while read -r r; do
        [[ -d $r ]] || continue
        chroot_destroy "$r" || rc=1
    done <"$reg"
    rm -f "$reg"
    return "$rc"
}

# Build python3-hello by hand: one module in dist-packages and one /usr/bin script.
# This exercises the repo/apt/purge plumbing without needing py2deb itself.
chroot_make_hello_deb() {
    local out=$1 t
    t=$(mktemp -d)
    mkdir -p "$t/DEBIAN" "$t/usr/lib/python3/dist-packages/hello" "$t/usr/bin" \
        "$t/usr/share/doc/python3-hello"
    cat >"$t/usr/lib/python3/dist-packages/hello/__init__.py" <<'EOF'
"""Greeting module used to check the test chroot plumbing."""


def main():
    import sys
    if "--help" in sys.argv[1:]:
        print("usage: hello [--help]")
        return 0
    print("hello from python3-hello")
    return 0
EOF
    cat >"$t/usr/bin/hello" <<'EOF'
#!/usr/bin/python3
import sys
from hello import main
sys.exit(main())
EOF
    chmod 755 "$t/usr/bin/hello"
    cat >"$t/DEBIAN/control" <<'EOF'
Package: python3-hello
Version: 1.0-1
Architecture: all
Maintainer: py2deb tests <tests@example.invalid>
Depends: python3:any
Section: python
Priority: optional
Description: greeting module for chroot plumbing tests
 Built by hand, to check the flat repository and apt plumbing.
EOF
    # Byte-compile at install and clean at removal, as dh-python's generated scripts do,
    # so the purge check below is meaningful.
    cat >"$t/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ] && command -v py3compile >/dev/null 2>&1; then
    py3compile -p python3-hello
fi
EOF
    cat >"$t/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if command -v py3clean >/dev/null 2>&1; then
    py3clean -p python3-hello
else
    dpkg -L python3-hello | sed -n 's/\.py$/.pyc/p' | xargs -r rm -f
    find /usr/lib/python3/dist-packages/hello -type d -name __pycache__ -empty -delete
fi
EOF
    chmod 755 "$t/DEBIAN/postinst" "$t/DEBIAN/prerm"
    printf 'hello\n' >"$t/usr/share/doc/python3-hello/README"
    mkdir -p "$out"
    dpkg-deb --root-owner-group --build "$t" "$out/python3-hello_1.0-1_all.deb" >/dev/null
    rm -rf "$t"
}

_chroot_main() {
    local cmd=${1:-}
    shift || true
    trap chroot_cleanup_all EXIT
    trap 'exit 130' INT TERM
    case $cmd in
        create) chroot_ensure ;;
        recreate)
            _chroot_need_root
            [[ -e $CHROOT_PRISTINE ]] && _chroot_rm_tree "$CHROOT_PRISTINE"
            chroot_ensure
            ;;
        install)
            [[ $# -ge 2 ]] || _chdie "usage: $0 install DEBDIR PKG..."
            local debdir=$1 root
            shift
            chroot_ensure
            chroot_new
            root=$CHROOT_ROOT
            chroot_repo "$root" "$debdir"
            chroot_apt "$root" install "$@"
            if [[ -n ${CHROOT_CMD:-} ]]; then
                chroot_run "$root" /bin/sh -c "$CHROOT_CMD"
            fi
            ;;
        shell)
            local root
            chroot_ensure
            chroot_new
            root=$CHROOT_ROOT
            [[ -n ${1:-} ]] && chroot_repo "$root" "$1"
            chroot_run "$root" /bin/bash -i || true
            ;;
        selftest)
            local d root t0 t1 t2 t3
            chroot_ensure
            d=$(mktemp -d)
            chroot_make_hello_deb "$d"
            t0=$(date +%s%N)
            chroot_new
            root=$CHROOT_ROOT
            t1=$(date +%s%N)
            chroot_repo "$root" "$d"
            chroot_apt "$root" install python3-hello >/dev/null
            t2=$(date +%s%N)
            chroot_run "$root" hello
            chroot_run "$root" python3 -c 'import hello'
            chroot_apt "$root" purge python3-hello >/dev/null
            if [[ -e $root/usr/lib/python3/dist-packages/hello ]]; then
                _chdie "purge left files behind: $(find "$root/usr/lib/python3/dist-packages/hello")"
            fi
            chroot_destroy "$root"
            t3=$(date +%s%N)
            rm -rf "$d"
            _chlog "selftest ok: instance $(((t1 - t0) / 1000000))ms, repo+install $(((t2 - t1) / 1000000))ms, run+purge+destroy $(((t3 - t2) / 1000000))ms"
            ;;
        *)
            sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
            exit 2
            ;;
    esac
}

# Act as a command only when executed, not when sourced by the test suite.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    _chroot_main "$@"
fi
