// SPDX-License-Identifier: Apache-2.0
/* cuda_check.cu - the device check's own CUDA program: allocate on the
 * GPU, run a kernel, check its result on the host. Built on the
 * development machine by prepare-gpu-check.sh (cudart linked statically,
 * so only the driver's libcuda comes from the host); run in a container
 * by gpu-check.sh. Prints one line; exit 0 only when every element is
 * right.
 */
#include <cstdio>
#include <cuda_runtime.h>

__global__ void saxpy(int n, float a, const float *x, float *y)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		y[i] = a * x[i] + y[i];
}

static int fail(const char *what, cudaError_t e)
{
	printf("cuda_check: FAIL %s: %s (%s)\n", what, cudaGetErrorName(e),
	       cudaGetErrorString(e));
	return 1;
}

int main(void)
{
	const int n = 1 << 20;
	static float x[1 << 20], y[1 << 20];
	float *dx = nullptr, *dy = nullptr;
	int devices = 0, bad = 0;
	cudaDeviceProp prop;
	cudaError_t e;

	if ((e = cudaGetDeviceCount(&devices)) != cudaSuccess)
		return fail("cudaGetDeviceCount", e);
	if ((e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess)
		return fail("cudaGetDeviceProperties", e);
	for (int i = 0; i < n; i++) {
		x[i] = (float)i;
		y[i] = 1.0f;
	}
	if ((e = cudaMalloc(&dx, n * sizeof(float))) != cudaSuccess ||
	    (e = cudaMalloc(&dy, n * sizeof(float))) != cudaSuccess)
		return fail("cudaMalloc", e);
	if ((e = cudaMemcpy(dx, x, n * sizeof(float),
			    cudaMemcpyHostToDevice)) != cudaSuccess ||
	    (e = cudaMemcpy(dy, y, n * sizeof(float),
			    cudaMemcpyHostToDevice)) != cudaSuccess)
		return fail("cudaMemcpy to the device", e);
	saxpy<<<(n + 255) / 256, 256>>>(n, 2.0f, dx, dy);
	if ((e = cudaGetLastError()) != cudaSuccess)
		return fail("the kernel launch", e);
	if ((e = cudaMemcpy(y, dy, n * sizeof(float),
			    cudaMemcpyDeviceToHost)) != cudaSuccess)
		return fail("cudaMemcpy from the device", e);
	for (int i = 0; i < n; i++)
		if (y[i] != 2.0f * (float)i + 1.0f)
			bad++;
	cudaFree(dx);
	cudaFree(dy);
	if (bad) {
		printf("cuda_check: FAIL %d of %d results wrong on %s\n", bad,
		       n, prop.name);
		return 1;
	}
	printf("cuda_check: ok: %d GPU(s) visible, saxpy of %d floats right on %s\n",
	       devices, n, prop.name);
	return 0;
}
