#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the end-to-end test of `grbm-sweep slurm`.
#   tests/slurm/cluster.sh start   writes slurm.conf and starts munged, slurmctld and slurmd
#   tests/slurm/cluster.sh stop    stops them
# Needs root (it writes /etc/slurm and runs the daemons) and Debian's slurm-wlm and munge, which
# tests/setup-e2e.sh installs; it installs nothing itself.
set -euo pipefail
state=/var/lib/grbm-sweep-slurm
conf_dir=/etc/slurm

start() {
    local missing=""
    for tool in slurmctld slurmd munged mungekey sbatch sinfo; do
        command -v "$tool" > /dev/null || missing="$missing $tool"
    done
    if [ -n "$missing" ]; then
        echo "cluster.sh: not installed:$missing; run 'bash tests/setup-e2e.sh' (as root) first" >&2
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "cluster.sh: must run as root (it writes $conf_dir and starts the daemons)" >&2
        return 1
    fi
    mkdir -p "$state"/{ctld,d} /var/log/slurm /run/munge "$conf_dir"
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey --create --force
    fi
    chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2> /dev/null || true
    chmod 0700 /etc/munge
    chmod 0400 /etc/munge/munge.key
    if ! pgrep -x munged > /dev/null; then
        runuser -u munge -- /usr/sbin/munged
    fi
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(( $(free -m | awk '/^Mem:/ {print $2}') - 512 ))
    cat > "$conf_dir/slurm.conf" <<CONF
ClusterName=grbm
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    if ! pgrep -x slurmctld > /dev/null; then
        slurmctld
    fi
    if ! pgrep -x slurmd > /dev/null; then
        slurmd
    fi
    # Wait until the node accepts jobs.
    for _ in $(seq 1 60); do
        if sinfo -h -o '%t' 2> /dev/null | grep -qE '^(idle|mix|alloc)'; then
            echo "slurm cluster up on $host ($cpus CPUs)"
            return 0
        fi
        scontrol update nodename="$host" state=resume > /dev/null 2>&1 || true
        sleep 1
    done
    echo "slurm did not come up; see /var/log/slurm" >&2
    sinfo >&2 || true
    return 1
}

stop() {
    pkill -x slurmd 2> /dev/null || true
    pkill -x slurmctld 2> /dev/null || true
    pkill -x munged 2> /dev/null || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
