// SPDX-License-Identifier: Apache-2.0
/* mpiprobe.c - the MPI program of the mpi suite and of tests/bench/mpi.sh,
 * built inside the test image against Debian's Open MPI
 *   mpiprobe            each rank prints "rank R of N on HOST" and rank 0
 *                       "allreduce S" (S = the sum of 1..N, over all ranks)
 *   mpiprobe bench      rank 0 prints the median over rounds of: ping-pong
 *                       latency (8 B, us), bandwidth (1 MiB and 16 MiB,
 *                       MB/s) and an allreduce of 8 doubles (us)
 *   mpiprobe hang       rank 0 says "ready" when every rank is in, then
 *                       every rank waits in a barrier that never completes
 *                       for rank 0 (which is killed by the test)
 */

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 7

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp);
	return v[ROUNDS / 2];
}

/* Seconds for one round trip of @len bytes between ranks 0 and 1. */
static double pingpong(int rank, char *buf, int len, int iters)
{
	double t;

	MPI_Barrier(MPI_COMM_WORLD);
	t = MPI_Wtime();
	for (int i = 0; i < iters && rank < 2; i++) {
		if (rank == 0) {
			MPI_Send(buf, len, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
			MPI_Recv(buf, len, MPI_CHAR, 1, 0, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(buf, len, MPI_CHAR, 0, 0, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
			MPI_Send(buf, len, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
		}
	}
	return (MPI_Wtime() - t) / iters;
}

static double allreduce(int iters)
{
	double in[8] = { 1 }, out[8], t;

	MPI_Barrier(MPI_COMM_WORLD);
	t = MPI_Wtime();
	for (int i = 0; i < iters; i++)
		MPI_Allreduce(in, out, 8, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
	return (MPI_Wtime() - t) / iters;
}

static void bench(int rank)
{
	char *buf = calloc(1, 16 << 20);
	double lat[ROUNDS], bw1[ROUNDS], bw16[ROUNDS], ar[ROUNDS];

	pingpong(rank, buf, 8, 1000); /* warm up */
	pingpong(rank, buf, 16 << 20, 5);
	for (int r = 0; r < ROUNDS; r++) {
		lat[r] = pingpong(rank, buf, 8, 10000) / 2 * 1e6;
		bw1[r] = (1 << 20) / (pingpong(rank, buf, 1 << 20, 200) / 2) /
			 1e6;
		bw16[r] = (16 << 20) / (pingpong(rank, buf, 16 << 20, 20) / 2) /
			  1e6;
		ar[r] = allreduce(10000) * 1e6;
	}
	if (rank == 0)
		printf("latency_8B_us %.2f bw_1MiB_MBps %.0f bw_16MiB_MBps %.0f allreduce_us %.2f\n",
		       median(lat), median(bw1), median(bw16), median(ar));
	free(buf);
}

int main(int argc, char **argv)
{
	int rank, size, sum = 0, mine;
	char host[256] = "";

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	gethostname(host, sizeof(host) - 1);
	if (argc > 1 && !strcmp(argv[1], "bench")) {
		bench(rank);
	} else if (argc > 1 && !strcmp(argv[1], "hang")) {
		MPI_Barrier(MPI_COMM_WORLD);
		if (rank == 0) {
			printf("ready\n");
			fflush(stdout);
			pause();
		}
		MPI_Barrier(MPI_COMM_WORLD);
	} else {
		char *buf = calloc(1, 1 << 20);

		printf("rank %d of %d on %s\n", rank, size, host);
		/* A message large enough for the single-copy path (CMA). */
		pingpong(rank, buf, 1 << 20, 2);
		mine = rank + 1;
		MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
		if (rank == 0)
			printf("allreduce %d\n", sum);
		free(buf);
	}
	MPI_Finalize();
	return 0;
}
