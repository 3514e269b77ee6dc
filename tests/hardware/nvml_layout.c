/* nvml_layout.c - prints the sizes and offsets of the NVML structures that
 * lib/gpuattest.c declares itself, from the nvml.h found on the GPU machine,
 * so that the two can be compared (docs/hardware-runs.md). */
#include <stddef.h>
#include <stdio.h>

#include <nvml.h>

#define OFF(t, f) printf("  offsetof(%s, %s) = %zu\n", #t, #f, offsetof(t, f))

int main(void)
{
	printf("NVML_API_VERSION %d\n", NVML_API_VERSION);
	printf("sizeof(nvmlConfComputeSystemState_t) = %zu\n",
	       sizeof(nvmlConfComputeSystemState_t));
	printf("sizeof(nvmlSystemConfComputeSettings_v1_t) = %zu, version word 0x%x\n",
	       sizeof(nvmlSystemConfComputeSettings_v1_t), nvmlSystemConfComputeSettings_v1);
	OFF(nvmlSystemConfComputeSettings_v1_t, devToolsMode);
	OFF(nvmlSystemConfComputeSettings_v1_t, multiGpuMode);
	printf("sizeof(nvmlConfComputeGpuCertificate_t) = %zu\n",
	       sizeof(nvmlConfComputeGpuCertificate_t));
	OFF(nvmlConfComputeGpuCertificate_t, attestationCertChain);
	printf("sizeof(nvmlConfComputeGpuAttestationReport_t) = %zu\n",
	       sizeof(nvmlConfComputeGpuAttestationReport_t));
	OFF(nvmlConfComputeGpuAttestationReport_t, nonce);
	OFF(nvmlConfComputeGpuAttestationReport_t, attestationReport);
	OFF(nvmlConfComputeGpuAttestationReport_t, cecAttestationReport);
	return 0;
}
