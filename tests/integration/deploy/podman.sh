# Podman for the deploy tests that run containers (sourced after lib.sh):
# the tools, a private podman service, the Debian base image. Root only.
#
# This sandbox's quirks, handled here:
#   - scripts/install-deps.sh --deploy, plus runc and the CNI dnsname plugin
#     when missing (the hybrid cgroup layout makes crun refuse to run
#     containers; compose's service names need container DNS);
#   - a private containers.conf (CONTAINERS_CONF): no default rlimits (the
#     sandbox refuses container rlimits) and runc;
#   - the base image: no registry is reachable, so debootstrap --variant=minbase
#     bookworm is imported as docker.io/library/debian:bookworm-slim (the
#     rootfs tarball is cached in $IOD_DEPLOY_CACHE, default ~/.cache/iod; the
#     import is skipped when the image exists).

cache=${IOD_DEPLOY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iod}
base_image=docker.io/library/debian:bookworm-slim

podman_tools() {
	"$IOD_SOURCE_DIR/scripts/install-deps.sh" --deploy >"$TMP/install.log" 2>&1 ||
		bail "scripts/install-deps.sh --deploy"
	extra=
	for pkg in runc golang-github-containernetworking-plugin-dnsname; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			extra="$extra $pkg"
	done
	if [[ -n $extra ]]; then
		log "installing$extra"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $extra \
			>>"$TMP/install.log" 2>&1 || bail "apt-get install$extra"
	fi
	ok "podman, docker-compose, debootstrap installed"
}

# podman_service: `podman system service` on $TMP/podman.sock (DOCKER_HOST);
# sets podman_pid.
podman_service() {
	cat >"$TMP/containers.conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
EOF
	export CONTAINERS_CONF=$TMP/containers.conf
	sock=$TMP/podman.sock
	bg podman podman system service -t 0 "unix://$sock"
	podman_pid=$BG_PID
	for _ in $(seq 1 100); do [[ -S $sock ]] && break; sleep 0.1; done
	[[ -S $sock ]] || bail "podman system service listens on $sock"
	export DOCKER_HOST=unix://$sock
	ok "podman serves the Docker API"
}

podman_base_image() {
	if ! podman image exists "$base_image"; then
		mkdir -p "$cache"
		tarball=$cache/debian-bookworm-minbase.tar.gz
		if [[ ! -s $tarball ]]; then
			log "debootstrap --variant=minbase bookworm (cached in $tarball)"
			rootfs=$TMP/rootfs
			debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
				>"$TMP/debootstrap.log" 2>&1 || bail "debootstrap bookworm"
			# Like the published slim image: no package cache, no package lists.
			rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
				"$rootfs"/var/lib/apt/lists/*
			tar -C "$rootfs" -c . | gzip -1 >"$tarball.tmp"
			mv "$tarball.tmp" "$tarball"
			rm -rf "$rootfs"
		fi
		gzip -dc "$tarball" | podman import - "$base_image" >"$TMP/import.log" 2>&1 ||
			bail "podman import $base_image"
	fi
	ok "base image $base_image"
}
