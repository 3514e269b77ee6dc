// cuda_check.cu - the CUDA computation a GPU container runs on the H200
// (docs/hardware-runs.md): y = a*x + y over 2^24 floats and a reduction of
// 2^20 integers on the GPU, each checked against the exact result on the
// CPU. Exit 0 only when both match; it prints the device it ran on.
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

__global__ void saxpy(int n, float a, const float *x, float *y)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		y[i] = a * x[i] + y[i];
}

__global__ void sum(int n, const unsigned *v, unsigned long long *out)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		atomicAdd(out, (unsigned long long)v[i]);
}

#define CK(x)                                                                     \
	do {                                                                      \
		cudaError_t e_ = (x);                                             \
		if (e_ != cudaSuccess) {                                          \
			fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e_));  \
			return 3;                                                 \
		}                                                                 \
	} while (0)

int main(void)
{
	const int n = 1 << 24, m = 1 << 20;
	int count = 0, drv = 0, rt = 0;
	cudaDeviceProp p;

	CK(cudaGetDeviceCount(&count));
	CK(cudaGetDeviceProperties(&p, 0));
	CK(cudaDriverGetVersion(&drv));
	CK(cudaRuntimeGetVersion(&rt));
	printf("devices %d, device 0: %s, %d SMs, %.1f GiB, cc %d.%d, driver API %d, runtime %d\n",
	       count, p.name, p.multiProcessorCount, p.totalGlobalMem / 1073741824.0, p.major,
	       p.minor, drv, rt);

	float *x = (float *)malloc(n * sizeof(float)), *y = (float *)malloc(n * sizeof(float));
	unsigned *v = (unsigned *)malloc(m * sizeof(unsigned));
	for (int i = 0; i < n; i++) {
		x[i] = (float)(i % 1000);
		y[i] = 2.0f;
	}
	unsigned long long want = 0;
	for (int i = 0; i < m; i++) {
		v[i] = (unsigned)(i * 2654435761u % 100000u);
		want += v[i];
	}
	float *dx, *dy;
	unsigned *dv;
	unsigned long long *dsum, got = 0;
	CK(cudaMalloc(&dx, n * sizeof(float)));
	CK(cudaMalloc(&dy, n * sizeof(float)));
	CK(cudaMalloc(&dv, m * sizeof(unsigned)));
	CK(cudaMalloc(&dsum, sizeof(*dsum)));
	CK(cudaMemcpy(dx, x, n * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dy, y, n * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dv, v, m * sizeof(unsigned), cudaMemcpyHostToDevice));
	CK(cudaMemset(dsum, 0, sizeof(*dsum)));
	saxpy<<<(n + 255) / 256, 256>>>(n, 3.0f, dx, dy);
	sum<<<(m + 255) / 256, 256>>>(m, dv, dsum);
	CK(cudaGetLastError());
	CK(cudaDeviceSynchronize());
	CK(cudaMemcpy(y, dy, n * sizeof(float), cudaMemcpyDeviceToHost));
	CK(cudaMemcpy(&got, dsum, sizeof(got), cudaMemcpyDeviceToHost));
	long bad = 0;
	for (int i = 0; i < n; i++)
		if (y[i] != 3.0f * (float)(i % 1000) + 2.0f)
			bad++;
	printf("saxpy: %d elements, %ld wrong; y[999] = %.1f (want 2999.0)\n", n, bad, y[999]);
	printf("sum: %llu on the GPU, %llu on the CPU\n", got, want);
	if (bad || got != want) {
		printf("CUDA CHECK FAILED\n");
		return 1;
	}
	printf("CUDA CHECK OK\n");
	return 0;
}
