# Sourced by fresh_check.sh and units_nspawn.sh: a fresh bookworm root.
# fresh_root ROOT CACHE LOG PACKAGES: mmdebstrap --variant=apt with PACKAGES
# (comma-separated) into ROOT, apt's downloads kept in CACHE (bind-mounted at
# the root's /var/cache/apt/archives while it is made; the packages are still
# installed from nothing), its output in LOG (the end printed on failure).
fresh_root() {
	if ! mmdebstrap --variant=apt --include="$4" --skip=essential/unlink \
		--setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
		--setup-hook="mount --bind '$2' \"\$1/var/cache/apt/archives\"" \
		--customize-hook='umount "$1/var/cache/apt/archives"' \
		bookworm "$1" >"$3" 2>&1; then
		tail -n 30 "$3" >&2
		echo "mmdebstrap of bookworm failed (log above)" >&2
		return 1
	fi
}
