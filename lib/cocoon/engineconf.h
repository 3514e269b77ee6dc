/* engineconf.h - the container engine's configuration, generated from the
 * workload spec (ARCHITECTURE.md §5): Docker's daemon.json and the systemd
 * drop-in that removes `-H fd://` (a flag and daemon.json must not both set
 * `hosts`), Podman's policy.json (reject by default, accept each allowlisted
 * image by digest) and registries.conf (only the allowed registries, no
 * short-name search). Every function returns a malloc'ed NUL-terminated text.
 */
#ifndef COCOON_ENGINECONF_H
#define COCOON_ENGINECONF_H

#include "cocoon/compose.h"
#include "cocoon/err.h"

#define ENGINECONF_DOCKER_SOCKET "unix:///var/run/docker.sock"
#define ENGINECONF_DATA_ROOT "/persist/docker"
#define ENGINECONF_NVIDIA_RUNTIME "/usr/bin/nvidia-container-runtime"

/* /etc/docker/daemon.json: the unix socket only (never TCP), cocoon-authz,
 * data on the encrypted disk, no-new-privileges, no inter-container traffic,
 * no userland proxy, no live-restore; when the spec asks for the GPU, the
 * nvidia runtime entry and features.cdi (Docker 25+ reads the CDI spec that
 * cocoon-init generates, lib/gpucdi.c). */
int engineconf_daemon_json(const struct compose_spec *s, char **out, struct cerr *err);

/* /etc/systemd/system/docker.service.d/cocoon.conf */
int engineconf_docker_dropin(char **out, struct cerr *err);

/* /etc/containers/policy.json */
int engineconf_podman_policy(const struct compose_spec *s, char **out, struct cerr *err);

/* /etc/containers/registries.conf */
int engineconf_podman_registries(const struct compose_spec *s, char **out, struct cerr *err);

#endif
