#!/bin/sh
# Build a minimal busybox initramfs for a QEMU/SPICE test guest.
# Needs only Debian packages: linux-image-amd64, busybox-static, cpio, gzip
# (+ coreutils, findutils, grep, mawk from the base system). Runs in ~3 s.
# Output: /tmp/guest/vmlinuz and /tmp/guest/initramfs.cpio.gz (byte-reproducible).
set -eu
W=${W:-/tmp/guest}
KV=${KV:-$(ls /boot | sed -n "s/^vmlinuz-//p" | sort -V | tail -1)}
M=/lib/modules/$KV
R=$W/rootfs
# Modules to load, in this order; dependencies are resolved from modules.dep.
# (i8042, atkbd, 8250 serial, vt, fbcon, devtmpfs are built in: =y in the config.)
# vfat needs nls_cp437 + nls_ascii (CONFIG_FAT_DEFAULT_CODEPAGE/IOCHARSET).
# psmouse with proto=bare: the plain 3-byte PS/2 protocol, no probing of extensions; evdev
# gives raw relative deltas (/dev/input/eventN) for the server-mode mouse tests.
WANT="qxl xhci-pci ehci-pci uhci-hcd usb-storage sd_mod vfat nls_cp437 nls_ascii
      isofs virtio_pci virtio_console psmouse evdev"

rm -rf "$R"; mkdir -p "$R/bin" "$R/etc" "$R/proc" "$R/sys" "$R/dev" "$R/mnt" "$R/tmp"
cp /bin/busybox "$R/bin/busybox"
# Extra files for the guest (e.g. console keymaps): EXTRA=DIR is copied to /extra.
if [ -n "${EXTRA:-}" ]; then cp -r "$EXTRA" "$R/extra"; fi
cp "/boot/vmlinuz-$KV" "$W/vmlinuz"

# Print the module's dependencies (depth first), then the module, as paths.
resolve() (   # subshell: $line stays local across the recursion
  line=$(grep -E "(^|/)$1\.ko:" "$M/modules.dep") || { echo "no module $1" >&2; exit 1; }
  for d in ${line#*:}; do resolve "$(basename "$d" .ko)"; done
  echo "${line%%:*}"
)
for m in $WANT; do resolve "$m"; done > "$W/modules.all"
awk '!seen[$0]++' "$W/modules.all" > "$R/etc/modules"; rm "$W/modules.all"
while read -r p; do
  mkdir -p "$R/lib/modules/$(dirname "$p")"; cp "$M/$p" "$R/lib/modules/$p"
done < "$R/etc/modules"
# Module parameters go after the path, on the module's line.
sed -i 's|/psmouse\.ko$|& proto=bare|' "$R/etc/modules"

cat > "$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/ PS1='guest:$PWD# '
mount -t proc proc /proc; mount -t sysfs sys /sys
mount -t devtmpfs dev /dev                # CONFIG_DEVTMPFS_MOUNT is off: mount it here
exec </dev/console >/dev/console 2>&1
# insmod in dependency order (list written by build-guest.sh from modules.dep)
while read -r m args; do insmod "/lib/modules/$m" $args || echo "init: insmod $m failed"; done < /etc/modules
echo 0 > /proc/sys/kernel/printk          # keep kernel chatter off the shells
echo 0 > /sys/class/graphics/fbcon/cursor_blink   # still screen: screenshots can settle
echo "GUEST-READY uptime=$(cut -d' ' -f1 /proc/uptime)s" > /dev/ttyS0
# A respawning interactive shell per terminal; setsid makes it the controlling tty.
spawn() { while :; do setsid sh -c "exec sh -i <$1 >$1 2>&1"; sleep 1; done; }
spawn /dev/tty1 &
spawn /dev/ttyS0 &
while :; do wait; done
EOF
chmod 755 "$R/init"

# Reproducible archive: fixed mtimes, sorted names, no gzip timestamp.
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) \
  | gzip -9n > "$W/initramfs.cpio.gz"
echo "built $W/initramfs.cpio.gz ($(du -k "$W/initramfs.cpio.gz" | cut -f1) KiB,"\
     "$(wc -l < "$R/etc/modules") modules)"
