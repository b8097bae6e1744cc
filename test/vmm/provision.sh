#!/usr/bin/env bash
# Provisions what `npm run test:vmm` needs, once per machine, in a cache directory outside the repo:
#
#   base   a Debian trixie chroot (debootstrap --variant=minbase) holding QEMU from trixie-backports,
#          static busybox, pciutils and a C compiler, plus a Debian 6.12 kernel unpacked from its .deb.
#          Redone when the recipe below changes (its hash is stored in base.stamp) or a file is missing.
#   image  the guest program (test/vmm/guest/*.c, compiled static in the chroot) and an initramfs
#          (busybox, lspci/setpci with their libraries, the vfio modules, the program, /init).
#          Redone when the guest sources, /init or the base change. Takes a few seconds.
#
# Needs root, apt-get, debootstrap (installed with apt-get when missing) and Debian's archive. Says what
# is missing and exits 1 otherwise. Everything lives under $VIDXD_VMM_CACHE (default ~/.cache/vidxd-vmm):
#   lock  base.stamp  image.stamp  root/ (the chroot)  root/vmm/ (kernel, modules, initrd.cpio)
# Two runs never provision at once (flock on $CACHE/lock). Mounts made for apt inside the chroot are
# undone on every exit path; a run killed before it could undo them leaves them for the next run to undo.
#
# Usage: test/vmm/provision.sh [base|image|all]   (default all)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VIDXD_VMM_CACHE:-${HOME:-/root}/.cache/vidxd-vmm}
MIRROR=${VIDXD_VMM_MIRROR:-http://deb.debian.org/debian}
ROOT=$CACHE/root
WHAT=${1:-all}

# The recipe of the base. Any change here (or a new RECIPE_VERSION after a change of the steps below)
# makes the next run provision afresh.
RECIPE_VERSION=1
SUITE=trixie
QEMU_SUITE=trixie-backports          # QEMU >= 10.1 (vfio-user-pci); trixie itself has 10.0
QEMU_MIN=10.1
PACKAGES="busybox-static pciutils gcc libc6-dev"
QEMU_PACKAGES="qemu-system-x86"
KERNEL_META=linux-image-cloud-amd64 # the cloud flavour boots fastest and has VFIO no-IOMMU
RECIPE="v$RECIPE_VERSION suite=$SUITE mirror=$MIRROR qemu=$QEMU_SUITE:$QEMU_PACKAGES>=$QEMU_MIN pkgs=$PACKAGES kernel=$KERNEL_META"

say() { printf 'vmm-provision: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
sha() { sha256sum | cut -c1-16; }

case $WHAT in base|image|all) ;; *) echo "usage: $0 [base|image|all]" >&2; exit 2;; esac

# ---------------------------------------------------------------------------------------------------
# What the machine must offer. Each missing piece is named, then the script stops.
preflight() {
  local missing=()
  [ "$(id -u)" -eq 0 ] || missing+=("root (debootstrap, chroot and apt-get need uid 0; run as root)")
  command -v apt-get >/dev/null || missing+=("apt-get (a Debian-like host)")
  command -v chroot >/dev/null || missing+=("chroot (coreutils)")
  command -v flock >/dev/null || missing+=("flock (util-linux)")
  [ ${#missing[@]} -eq 0 ] || { for m in "${missing[@]}"; do say "missing: $m"; done; exit 1; }
}

# Anything mounted at or below $1 (deepest first).
mounts_under() {
  awk -v p="$1" '$2 == p || index($2, p "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

unmount_all_under() {
  local m
  for m in $(mounts_under "$1"); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  [ -z "$(mounts_under "$1")" ] || die "cannot unmount $(mounts_under "$1" | tr '\n' ' ')— remove them by hand"
}

# Removes a chroot tree, never while something is mounted inside it (a bind-mounted /dev would go too).
remove_tree() {
  [ -e "$1" ] || return 0
  unmount_all_under "$1"
  rm -rf --one-file-system "$1"
}

MOUNTED=()
chroot_mount() { # $1 = chroot; /proc, /sys, /dev and /dev/pts for apt and dpkg
  mount -t proc proc "$1/proc" && MOUNTED+=("$1/proc")
  mount -t sysfs sysfs "$1/sys" && MOUNTED+=("$1/sys")
  mount --bind /dev "$1/dev" && MOUNTED+=("$1/dev")
  mount --bind /dev/pts "$1/dev/pts" && MOUNTED+=("$1/dev/pts")
}
chroot_umount() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" || true; done
  MOUNTED=()
}
trap chroot_umount EXIT
trap 'exit 130' INT TERM

in_chroot() { chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive "${@:2}"; }

# ---------------------------------------------------------------------------------------------------
base_ok() {
  [ -f "$CACHE/base.stamp" ] && grep -qxF "recipe=$(printf '%s' "$RECIPE" | sha)" "$CACHE/base.stamp" \
    && [ -x "$ROOT/usr/bin/qemu-system-x86_64" ] && [ -f "$ROOT/vmm/vmlinuz" ] && [ -x "$ROOT/usr/bin/gcc" ] \
    && [ -x "$ROOT/bin/busybox" ] && [ -x "$ROOT/usr/bin/lspci" ]
}

provision_base() {
  local t0 new=$CACHE/root.new
  t0=$(now)
  say "provisioning the base in $CACHE (recipe changed or files missing): $RECIPE"
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap with apt-get"
    apt-get update -qq || die "apt-get update failed: the host cannot reach its archive"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
      || die "missing: debootstrap (apt-get install debootstrap failed)"
  fi
  local fetch=(curl -fsS -o /dev/null --max-time 20)
  command -v curl >/dev/null || fetch=(wget -q -O /dev/null --timeout=20)
  "${fetch[@]}" "$MIRROR/dists/$SUITE/InRelease" \
    || die "missing: Debian's archive ($MIRROR/dists/$SUITE/InRelease is unreachable; set VIDXD_VMM_MIRROR to a mirror)"

  remove_tree "$new"
  rm -f "$CACHE/base.stamp"
  say "debootstrap --variant=minbase $SUITE ($MIRROR)"
  debootstrap --variant=minbase "$SUITE" "$new" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }

  cat >"$new/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $QEMU_SUITE main
EOF
  printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d" && chmod +x "$new/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$new/etc/apt/apt.conf.d/90vidxd"
  chroot_mount "$new"
  say "apt-get install $PACKAGES; $QEMU_PACKAGES from $QEMU_SUITE"
  in_chroot "$new" apt-get update -qq
  in_chroot "$new" apt-get install -y -qq $PACKAGES >/dev/null
  in_chroot "$new" apt-get install -y -qq -t "$QEMU_SUITE" $QEMU_PACKAGES >/dev/null
  local qemu_version
  qemu_version=$(in_chroot "$new" qemu-system-x86_64 --version | sed -n '1s/^QEMU emulator version \([0-9.]*\).*/\1/p')
  [ "$(printf '%s\n%s\n' "$QEMU_MIN" "$qemu_version" | sort -V | head -n1)" = "$QEMU_MIN" ] \
    || die "QEMU $qemu_version from $QEMU_SUITE is older than $QEMU_MIN (no vfio-user-pci)"

  # The kernel: the package the meta-package points at, unpacked (no postinst, no initramfs-tools).
  local kpkg
  kpkg=$(in_chroot "$new" apt-cache depends "$KERNEL_META" | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  [ -n "$kpkg" ] || die "cannot resolve $KERNEL_META to a kernel package"
  say "kernel package $kpkg"
  mkdir -p "$new/vmm/dl"
  # apt's sandbox user cannot write into /vmm/dl; download as root (quietly).
  in_chroot "$new" sh -c "cd /vmm/dl && apt-get download -qq -o APT::Sandbox::User=root $kpkg"
  chroot_umount
  mkdir -p "$new/vmm/kernel"
  in_chroot "$new" sh -c 'dpkg-deb -x /vmm/dl/*.deb /vmm/kernel'
  rm -rf "$new/vmm/dl"
  in_chroot "$new" apt-get clean
  local kver
  kver=$(ls "$new/vmm/kernel/usr/lib/modules" | head -n1)
  [ -n "$kver" ] && [ -f "$new/vmm/kernel/boot/vmlinuz-$kver" ] || die "the kernel package holds no vmlinuz"
  ln -sf "kernel/boot/vmlinuz-$kver" "$new/vmm/vmlinuz"

  remove_tree "$ROOT"
  mv "$new" "$ROOT"
  {
    echo "recipe=$(printf '%s' "$RECIPE" | sha)"
    echo "qemu=$qemu_version"
    echo "kernel=$kver"
    echo "provisioned=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "seconds=$(elapsed "$t0")"
  } >"$CACHE/base.stamp"
  say "base ready in $(elapsed "$t0") s ($(du -sh --one-file-system "$ROOT" | cut -f1)): QEMU $qemu_version, kernel $kver"
}

# ---------------------------------------------------------------------------------------------------
# The guest image: everything under test/vmm/guest plus /init, and the base it was built on.
image_hash() {
  { cat "$CACHE/base.stamp" "$HERE/provision.sh"; find "$HERE/guest" -type f | LC_ALL=C sort | xargs cat; } | sha
}

image_ok() {
  [ -f "$CACHE/image.stamp" ] && grep -qxF "image=$(image_hash)" "$CACHE/image.stamp" && [ -f "$ROOT/vmm/initrd.cpio" ]
}

# Copies a chroot binary and every library it loads into the initramfs tree (same paths).
copy_with_libs() { # $1 = initramfs dir, $2.. = absolute paths inside the chroot
  local dir=$1 f lib
  shift
  for f in "$@"; do
    mkdir -p "$dir$(dirname "$f")" && cp -L "$ROOT$f" "$dir$f"
    for lib in $(in_chroot "$ROOT" ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }'); do
      mkdir -p "$dir$(dirname "$lib")" && cp -L "$ROOT$lib" "$dir$lib"
    done
  done
}

build_image() {
  local t0 kver dir=$ROOT/vmm/initrd.d
  t0=$(now)
  kver=$(sed -n 's/^kernel=//p' "$CACHE/base.stamp")
  say "building the guest image (guest program + initramfs)"
  rm -rf "$ROOT/vmm/src" "$dir" && mkdir -p "$ROOT/vmm/src" "$dir"
  cp "$HERE"/guest/*.c "$HERE"/guest/*.h "$ROOT/vmm/src/"
  in_chroot "$ROOT" sh -c 'cd /vmm/src && gcc -static -O2 -Wall -Wextra -Werror -o /vmm/vidxd-guest *.c' \
    || die "the guest program does not compile"

  mkdir -p "$dir"/{bin,sbin,proc,sys,dev,tmp,run,lib/modules,usr/share/misc}
  cp "$ROOT/bin/busybox" "$dir/bin/busybox"
  copy_with_libs "$dir" /usr/bin/lspci /usr/bin/setpci
  [ -f "$ROOT/usr/share/misc/pci.ids" ] && cp -L "$ROOT/usr/share/misc/pci.ids" "$dir/usr/share/misc/"
  cp "$ROOT/vmm/vidxd-guest" "$dir/bin/vidxd-guest"
  cp "$HERE/guest/init" "$dir/init" && chmod +x "$dir/init"

  # The VFIO modules (vfio-pci behind the guest IOMMU, for the interrupt checks), in load order. The
  # unpacked package has no modules.dep (depmod runs in its postinst), so the order is written here.
  local kmod=$ROOT/vmm/kernel/usr/lib/modules/$kver/kernel
  : >"$dir/lib/modules/load-order"
  for m in irqbypass vfio vfio_iommu_type1 vfio-pci-core vfio-pci; do
    local path
    path=$(find "$kmod" -name "$m.ko*" | head -n1)
    [ -n "$path" ] || die "the kernel has no module $m"
    case $path in
      *.ko.xz) xz -dc "$path" >"$dir/lib/modules/$m.ko" ;;
      *.ko.zst) zstd -qdc "$path" >"$dir/lib/modules/$m.ko" ;;
      *.ko.gz) gzip -dc "$path" >"$dir/lib/modules/$m.ko" ;;
      *) cp "$path" "$dir/lib/modules/$m.ko" ;;
    esac
    echo "$m" >>"$dir/lib/modules/load-order"
  done

  in_chroot "$ROOT" sh -c 'cd /vmm/initrd.d && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null' >"$ROOT/vmm/initrd.cpio.new"
  mv "$ROOT/vmm/initrd.cpio.new" "$ROOT/vmm/initrd.cpio"
  echo "image=$(image_hash)" >"$CACHE/image.stamp"
  say "guest image ready in $(elapsed "$t0") s ($(du -h "$ROOT/vmm/initrd.cpio" | cut -f1), modules: $(tr '\n' ' ' <"$dir/lib/modules/load-order"))"
}

# ---------------------------------------------------------------------------------------------------
preflight
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
if ! flock -n 9; then
  say "another run is provisioning $CACHE; waiting for it"
  flock 9
fi
# A run killed while apt ran inside a chroot may have left its mounts.
unmount_all_under "$CACHE"

if [ "$WHAT" != image ]; then
  if base_ok; then say "base up to date ($(tr '\n' ' ' <"$CACHE/base.stamp"))"; else provision_base; fi
fi
if [ "$WHAT" != base ]; then
  base_ok || die "no base in $CACHE: run $0 base first"
  if image_ok; then say "guest image up to date"; else build_image; fi
fi
