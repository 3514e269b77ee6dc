/* gpu.c - GPU figures through NVML, loaded at run time.
 *
 * The guest image may have no NVIDIA driver at all (CPU-only VMs, the build
 * machines), so there is no link-time dependency: libnvidia-ml.so.1 is
 * opened with dlopen() on each `gpu` request and closed again, and a missing
 * library, a failing nvmlInit or no GPU is reported plainly in the reply.
 * Only read-only NVML queries are made. The NVML types used here are
 * declared below from NVIDIA's public nvml.h (stable ABI, versioned entry
 * points); functions newer drivers add (confidential-computing state) are
 * optional.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "health.h"

typedef int nvmlReturn_t; /* NVML_SUCCESS = 0 */
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct {
	unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct {
	unsigned int gpu, memory;
} nvmlUtilization_t;
typedef struct {
	char busIdLegacy[16];
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32];
} nvmlPciInfo_t;
typedef struct {
	unsigned int environment, ccFeature, devToolsMode;
} nvmlConfComputeSystemState_t;

struct nvml {
	void *h;
	nvmlReturn_t (*init)(void);
	nvmlReturn_t (*shutdown)(void);
	const char *(*error_string)(nvmlReturn_t);
	nvmlReturn_t (*driver_version)(char *, unsigned int);
	nvmlReturn_t (*count)(unsigned int *);
	nvmlReturn_t (*by_index)(unsigned int, nvmlDevice_t *);
	nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*uuid)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*pci)(nvmlDevice_t, nvmlPciInfo_t *);
	nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int *);
	nvmlReturn_t (*power)(nvmlDevice_t, unsigned int *);
	nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t *);
	nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t *);
	nvmlReturn_t (*cc_state)(nvmlConfComputeSystemState_t *); /* optional */
	nvmlReturn_t (*cc_ready)(unsigned int *);                 /* optional */
};

static json_object *unavailable(const char *lib, const char *reason)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "available", json_object_new_boolean(false));
	json_object_object_add(o, "library", json_object_new_string(lib));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	return o;
}

#define SYM(field, name, required)                                         \
	do {                                                               \
		*(void **)(&n->field) = dlsym(n->h, name);                 \
		if (!n->field && (required)) {                             \
			snprintf(why, why_len, "%s has no %s", lib, name); \
			return -1;                                         \
		}                                                          \
	} while (0)

static int load(struct nvml *n, const char *lib, char *why, size_t why_len)
{
	const char *e;

	memset(n, 0, sizeof(*n));
	n->h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!n->h) {
		e = dlerror();
		snprintf(why, why_len, "NVML not available: %s (no NVIDIA driver in this VM?)",
		         e ? e : lib);
		return -1;
	}
	SYM(init, "nvmlInit_v2", true);
	SYM(shutdown, "nvmlShutdown", true);
	SYM(error_string, "nvmlErrorString", true);
	SYM(driver_version, "nvmlSystemGetDriverVersion", true);
	SYM(count, "nvmlDeviceGetCount_v2", true);
	SYM(by_index, "nvmlDeviceGetHandleByIndex_v2", true);
	SYM(name, "nvmlDeviceGetName", true);
	SYM(uuid, "nvmlDeviceGetUUID", true);
	SYM(pci, "nvmlDeviceGetPciInfo_v3", false);
	SYM(temperature, "nvmlDeviceGetTemperature", false);
	SYM(power, "nvmlDeviceGetPowerUsage", false);
	SYM(memory, "nvmlDeviceGetMemoryInfo", false);
	SYM(utilization, "nvmlDeviceGetUtilizationRates", false);
	SYM(cc_state, "nvmlSystemGetConfComputeState", false);
	SYM(cc_ready, "nvmlSystemGetConfComputeGpusReadyState", false);
	return 0;
}

static json_object *one_gpu(struct nvml *n, unsigned int i)
{
	json_object *g = json_object_new_object();
	nvmlDevice_t dev;
	char buf[128];
	unsigned int v;
	nvmlMemory_t mem;
	nvmlUtilization_t util;
	nvmlPciInfo_t pci;
	nvmlReturn_t rc;

	json_object_object_add(g, "index", json_object_new_int((int)i));
	rc = n->by_index(i, &dev);
	if (rc) {
		json_object_object_add(g, "error", json_object_new_string(n->error_string(rc)));
		return g;
	}
	memset(buf, 0, sizeof(buf));
	if (n->name(dev, buf, sizeof(buf) - 1) == 0)
		json_object_object_add(g, "name", json_object_new_string(buf));
	memset(buf, 0, sizeof(buf));
	if (n->uuid(dev, buf, sizeof(buf) - 1) == 0)
		json_object_object_add(g, "uuid", json_object_new_string(buf));
	memset(&pci, 0, sizeof(pci));
	if (n->pci && n->pci(dev, &pci) == 0) {
		pci.busId[sizeof(pci.busId) - 1] = '\0';
		json_object_object_add(g, "pci_bus_id", json_object_new_string(pci.busId));
		snprintf(buf, sizeof(buf), "%04x:%04x", pci.pciDeviceId & 0xffff,
		         pci.pciDeviceId >> 16);
		json_object_object_add(g, "pci_id", json_object_new_string(buf));
	}
	if (n->temperature && n->temperature(dev, 0 /* NVML_TEMPERATURE_GPU */, &v) == 0)
		json_object_object_add(g, "temperature_c", json_object_new_int((int)v));
	if (n->power && n->power(dev, &v) == 0)
		json_object_object_add(g, "power_w", json_object_new_double(v / 1000.0));
	if (n->memory && n->memory(dev, &mem) == 0) {
		json_object_object_add(g, "memory_total_bytes", json_object_new_uint64(mem.total));
		json_object_object_add(g, "memory_used_bytes", json_object_new_uint64(mem.used));
	}
	if (n->utilization && n->utilization(dev, &util) == 0) {
		json_object_object_add(g, "utilization_gpu_pct",
		                       json_object_new_int((int)util.gpu));
		json_object_object_add(g, "utilization_memory_pct",
		                       json_object_new_int((int)util.memory));
	}
	return g;
}

json_object *gpu_report(const char *lib)
{
	json_object *o, *arr, *cc;
	char why[512], buf[96];
	struct nvml n;
	unsigned int count = 0, ready;
	nvmlConfComputeSystemState_t st;
	nvmlReturn_t rc;

	if (load(&n, lib, why, sizeof(why)) < 0) {
		if (n.h)
			dlclose(n.h);
		return unavailable(lib, why);
	}
	rc = n.init();
	if (rc) {
		snprintf(why, sizeof(why), "nvmlInit failed: %s", n.error_string(rc));
		dlclose(n.h);
		return unavailable(lib, why);
	}
	o = json_object_new_object();
	json_object_object_add(o, "available", json_object_new_boolean(true));
	json_object_object_add(o, "library", json_object_new_string(lib));
	memset(buf, 0, sizeof(buf));
	if (n.driver_version(buf, sizeof(buf) - 1) == 0)
		json_object_object_add(o, "driver_version", json_object_new_string(buf));
	cc = json_object_new_object();
	if (n.cc_state && n.cc_state(&st) == 0) {
		json_object_object_add(cc, "cc_feature",
		                       json_object_new_string(st.ccFeature ? "on" : "off"));
		json_object_object_add(cc, "devtools",
		                       json_object_new_string(st.devToolsMode ? "on" : "off"));
		json_object_object_add(cc, "environment", json_object_new_int((int)st.environment));
	} else {
		json_object_object_add(cc, "cc_feature",
		                       json_object_new_string("unknown (not in this driver)"));
	}
	if (n.cc_ready && n.cc_ready(&ready) == 0)
		json_object_object_add(cc, "gpus_ready", json_object_new_boolean(ready != 0));
	json_object_object_add(o, "confidential_computing", cc);
	rc = n.count(&count);
	if (rc) {
		json_object_object_add(o, "error", json_object_new_string(n.error_string(rc)));
		count = 0;
	}
	json_object_object_add(o, "count", json_object_new_int((int)count));
	arr = json_object_new_array();
	for (unsigned int i = 0; i < count && i < 64; i++)
		json_object_array_add(arr, one_gpu(&n, i));
	json_object_object_add(o, "gpus", arr);
	n.shutdown();
	dlclose(n.h);
	return o;
}
