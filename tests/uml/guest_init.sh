#!/bin/bash
# PID 1 of the user-mode-linux guest that tests/uml_vm.py boots: the host's / read-only below, memory-backed
# /run and /tmp, IPVS loaded; runs the job's command and leaves its exit status in the job directory.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
power_off() { sync; echo o > /proc/sysrq-trigger; sleep 30; }
trap power_off EXIT

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
for scratch in /run /tmp /dev/shm; do mount -t tmpfs -o mode=1777 tmpfs "$scratch"; done
job=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^pykeepalived.job=//p')
mount -t hostfs hostfs -o "$job" "$job" || { echo "cannot mount the job directory $job" > /dev/console; exit 1; }
# The host may have no /lib/modules, and / is read-only: give modprobe a root of its own, here and when
# the kernel loads a module on demand.
mkdir -p /run/uml-root/lib/modules
mount --bind /usr/lib/uml/modules /run/uml-root/lib/modules
printf '#!/bin/sh\nexec /sbin/modprobe -d /run/uml-root "$@"\n' > /run/modprobe
chmod +x /run/modprobe
echo /run/modprobe > /proc/sys/kernel/modprobe
ip link set lo up
for module in $(cat "$job/modules"); do
    /run/modprobe "$module" || echo "modprobe $module failed" >> "$job/stderr"
done
(cd "$(cat "$job/cwd")" && set -a && . "$job/environment" && set +a && exec bash "$job/command") \
    > "$job/stdout" 2>> "$job/stderr" < /dev/null
echo $? > "$job/status.new" && mv "$job/status.new" "$job/status"
